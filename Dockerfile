# lake-server on Debian bookworm.
#
#   docker build -t lake .
#   docker run --rm -p 8080:8080 --security-opt seccomp=config/seccomp-io_uring.json lake
#
# io_uring and containers: Docker Engine 25+ (and containerd 2, Podman) block io_uring_setup,
# io_uring_enter and io_uring_register in their default seccomp profile; there lake-server runs
# on its epoll backend and says so on its start line. config/seccomp-io_uring.json is the
# default profile plus those three system calls, for io_uring, and cachestat (large static
# files from the page cache; refused, they are read instead). `docker build` RUN steps always
# use the default profile, so the image does not run the server tests at build time; run
# scripts/test on a host (or in a container started with that profile).
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/deps scripts/deps
RUN scripts/deps
COPY . .
RUN meson setup /build --buildtype=release -Dtests=false \
 && meson compile -C /build \
 && meson install -C /build --destdir /stage

FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends liburing2 curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /stage/usr/local /usr/local
EXPOSE 8080
# /healthz answers 200 while the process serves (/readyz: while it accepts; 503 once draining).
HEALTHCHECK --interval=10s --timeout=2s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
USER nobody
ENTRYPOINT ["/usr/local/bin/lake-server"]
CMD ["--host", "0.0.0.0", "--port", "8080"]

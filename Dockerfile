# lake-server on Debian bookworm.
#
#   docker build -t lake .
#   docker run --rm -p 8080:8080 --security-opt seccomp=unconfined lake
#
# io_uring and containers: Docker Engine 25+ (and containerd 2, Podman) block io_uring_setup,
# io_uring_enter and io_uring_register in their default seccomp profile, so lake-server exits
# with "cannot set up io_uring: Operation not permitted" and an explanation. Run it with a
# profile that allows those three system calls (or seccomp=unconfined, as above). `docker build`
# RUN steps always use the default profile, so the image does not run the server tests at
# build time; run scripts/test on a host (or in a container started with that profile).
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/deps scripts/deps
RUN scripts/deps
COPY . .
RUN meson setup /build --buildtype=release -Dtests=false \
 && meson compile -C /build \
 && meson install -C /build --destdir /stage

FROM debian:bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends liburing2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /stage/usr/local /usr/local
EXPOSE 8080
USER nobody
ENTRYPOINT ["/usr/local/bin/lake-server"]
CMD ["--host", "0.0.0.0", "--port", "8080"]

// loadtest/split_client.c — a keep-alive load client that writes each request in several pieces
// (one send() each, TCP_NODELAY: separate TCP segments), which wrk cannot do: the shape of a
// client on a slow or lossy path, or a proxy that forwards as it reads.
//
//   split-client PORT PATH CONNECTIONS SECONDS [PIECES=3] [THREADS=2]
//
// Prints one line: "requests N seconds S rps R errors E non2xx K". Every response must carry a
// Content-Length (lake-server's, nginx's and h2o's do for the paths loadtest/compare uses).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    size_t have;  // bytes of the current response received
    char buf[4096];
} conn_t;

static int port, conns_per_thread, pieces;
static double seconds;
static char request[512];
static size_t request_len;
static atomic_ullong done_requests, errors, non2xx;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int open_conn(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr*)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// The request in `pieces` sends of about equal size.
static int send_request(int fd) {
    size_t at = 0;
    for (int i = 0; i < pieces; ++i) {
        size_t end = i == pieces - 1 ? request_len : request_len * (size_t)(i + 1) / (size_t)pieces;
        while (at < end) {
            ssize_t n = send(fd, request + at, end - at, MSG_NOSIGNAL);
            if (n <= 0) return -1;
            at += (size_t)n;
        }
    }
    return 0;
}

// 1: a whole response is in c->buf (and removed), 0: not yet, -1: malformed.
static int take_response(conn_t* c) {
    c->buf[c->have] = '\0';
    char* end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL) return c->have >= sizeof(c->buf) - 1 ? -1 : 0;
    char* cl = strcasestr(c->buf, "\r\ncontent-length:");
    if (cl == NULL || cl > end) return -1;
    size_t total = (size_t)(end + 4 - c->buf) + strtoul(cl + 17, NULL, 10);
    if (total >= sizeof(c->buf)) return -1;
    if (c->have < total) return 0;
    if (strncmp(c->buf + 9, "2", 1) != 0) atomic_fetch_add(&non2xx, 1);
    memmove(c->buf, c->buf + total, c->have - total);
    c->have -= total;
    return 1;
}

static void* run(void* arg) {
    (void)arg;
    int ep = epoll_create1(0);
    conn_t* cs = calloc((size_t)conns_per_thread, sizeof(conn_t));
    for (int i = 0; i < conns_per_thread; ++i) {
        cs[i].fd = open_conn();
        if (cs[i].fd < 0 || send_request(cs[i].fd) != 0) {
            atomic_fetch_add(&errors, 1);
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    double stop = now() + seconds;
    struct epoll_event evs[256];
    while (now() < stop) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < n; ++i) {
            conn_t* c = evs[i].data.ptr;
            ssize_t r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - 1 - c->have, 0);
            if (r <= 0) {  // closed or failed: counted, and the connection made again
                atomic_fetch_add(&errors, 1);
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->have = 0;
                c->fd = open_conn();
                if (c->fd < 0 || send_request(c->fd) != 0) continue;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
                continue;
            }
            c->have += (size_t)r;
            int got;
            while ((got = take_response(c)) == 1) {
                atomic_fetch_add(&done_requests, 1);
                if (send_request(c->fd) != 0) atomic_fetch_add(&errors, 1);
            }
            if (got < 0) {
                atomic_fetch_add(&errors, 1);
                c->have = 0;
            }
        }
    }
    for (int i = 0; i < conns_per_thread; ++i)
        if (cs[i].fd >= 0) close(cs[i].fd);
    free(cs);
    close(ep);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s PORT PATH CONNECTIONS SECONDS [PIECES=3] [THREADS=2]\n",
                argv[0]);
        return 2;
    }
    port = atoi(argv[1]);
    int connections = atoi(argv[3]);
    seconds = atof(argv[4]);
    pieces = argc > 5 ? atoi(argv[5]) : 3;
    int threads = argc > 6 ? atoi(argv[6]) : 2;
    if (pieces < 1 || threads < 1 || connections < threads) return 2;
    conns_per_thread = connections / threads;
    request_len = (size_t)snprintf(request, sizeof(request),
                                   "GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: split-client\r\n"
                                   "Accept: */*\r\n\r\n",
                                   argv[2]);
    pthread_t t[64];
    if (threads > 64) threads = 64;
    double start = now();
    for (int i = 0; i < threads; ++i) pthread_create(&t[i], NULL, run, NULL);
    for (int i = 0; i < threads; ++i) pthread_join(t[i], NULL);
    double took = now() - start;
    unsigned long long n = atomic_load(&done_requests);
    printf("requests %llu seconds %.2f rps %.0f errors %llu non2xx %llu\n", n, took, n / took,
           atomic_load(&errors), atomic_load(&non2xx));
    return 0;
}

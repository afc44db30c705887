// canned-server: the ceiling for loadtest/compare. It does no HTTP work at all: per readable
// connection it reads what arrived, counts the request ends ("\r\n\r\n") and writes that many
// copies of one canned plaintext response; a read that asked for the close (`Connection: close`,
// or HTTP/1.0 without keep-alive) gets the close after its answer, as loadtest/close.lua needs.
// It gets the same kernel-side help as lake-server: threads pinned to the allowed CPUs and
// connections steered to the thread on their CPU. What it reaches is what loopback TCP, epoll
// and wrk leave for any HTTP/1.1 server on this machine; lake-server's distance to it is about
// the most any amount of user-space work could still win (io_uring can pass it by the system
// calls it saves).
//
//   canned-server PORT [THREADS [RESPONSE_FILE]]   (one SO_REUSEPORT listener and epoll loop
//                                                   per thread)
//
// With RESPONSE_FILE its bytes are the answer instead (loadtest/compare gives it the very bytes
// lake-server sent for a path, to tell what the client spends on a response's shape from what
// the server spends making it); a read that asks for the close gets them, then the close.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char plaintext_response[] =
    "HTTP/1.1 200 OK\r\nServer: canned\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
    "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
static const char closing_response[] =
    "HTTP/1.1 200 OK\r\nServer: canned\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
    "Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!";
enum { max_fds = 1 << 20 };

// What every request end is answered with: plaintext_response, or a RESPONSE_FILE's bytes (and
// then, where the client asks for the close, the same bytes before it).
static const char* response = plaintext_response;
static size_t response_len = sizeof(plaintext_response) - 1;
static const char* closing = closing_response;
static size_t closing_len = sizeof(closing_response) - 1;

static int port;
// Per descriptor: how many bytes of "\r\n\r\n" the previous read ended with (requests may be
// split across reads). Each fd belongs to one thread, so no locking.
static unsigned char matched[max_fds];

static void write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, 1000);  // rare: a client that does not read; a ceiling may block
        } else {
            return;
        }
    }
}

// The least any server must look at to know that a client wants the close: its version and its
// Connection field (as the bytes wrk sends them; no parsing).
static int asks_for_close(const char* in, size_t n) {
    if (memmem(in, n, "Connection: close\r\n", 19) != NULL) return 1;
    return memmem(in, n, " HTTP/1.0\r\n", 11) != NULL && memmem(in, n, "eep-alive", 9) == NULL;
}

static void serve(int fd, char* in, size_t in_size, char* out, size_t out_size) {
    static const char end[] = "\r\n\r\n";
    for (;;) {
        ssize_t r = read(fd, in, in_size);
        if (r <= 0) {
            if (r == 0 || errno != EAGAIN) close(fd);
            return;
        }
        size_t len = 0;
        unsigned m = matched[fd];
        for (ssize_t i = 0; i < r; i++) {
            m = in[i] == end[m] ? m + 1 : (in[i] == '\r' ? 1 : 0);
            if (m == 4) {
                m = 0;
                if (len + response_len > out_size) {
                    write_all(fd, out, len);
                    len = 0;
                }
                memcpy(out + len, response, response_len);
                len += response_len;
            }
        }
        matched[fd] = (unsigned char)m;
        if (len > 0 && asks_for_close(in, (size_t)r)) {
            // One request per connection: its answer says so, then the close (which also
            // takes the descriptor out of epoll).
            write_all(fd, closing, closing_len);
            close(fd);
            return;
        }
        if (len > 0) write_all(fd, out, len);
        if ((size_t)r < in_size) return;  // drained: edge-triggered epoll reports new data
    }
}

struct worker {
    int listener;
    int cpu;
};

static int open_listener(void) {
    int one = 1;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(ls, 4096) != 0) {
        perror("canned-server: bind/listen");
        exit(1);
    }
    return ls;
}

// Listener i gets the connections whose SYN is processed on workers[i].cpu (as lake-server).
static void steer_by_cpu(int ls, const struct worker* workers, int n) {
    struct sock_filter prog[1 + 2 * 256 + 1];
    int k = 0;
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_CPU);
    for (int i = 0; i < n; i++) {
        prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, workers[i].cpu, 0, 1);
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, i);
    }
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
    struct sock_fprog fprog = {.len = (unsigned short)k, .filter = prog};
    setsockopt(ls, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof fprog);
}

static void* run(void* arg) {
    const struct worker* w = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    int one = 1;
    int ls = w->listener;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    static __thread char in[64 * 1024], out[64 * 1024];
    struct epoll_event events[512];
    for (;;) {
        int n = epoll_wait(ep, events, 512, -1);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd != ls) {
                serve(fd, in, sizeof in, out, sizeof out);
                continue;
            }
            int c;
            while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                if (c >= max_fds) {
                    close(c);
                    continue;
                }
                matched[c] = 0;
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
            }
        }
    }
    return NULL;
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: canned-server PORT [THREADS [RESPONSE_FILE]]\n");
        return 2;
    }
    port = atoi(argv[1]);
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    if (threads < 1 || threads > 256) threads = 2;
    if (argc > 3) {
        static char file_response[16 * 1024];
        FILE* f = fopen(argv[3], "rb");
        size_t n = f != NULL ? fread(file_response, 1, sizeof file_response, f) : 0;
        if (f == NULL || n == 0 || n == sizeof file_response) {
            fprintf(stderr, "canned-server: %s: not a response of 1 byte to 16 KiB\n", argv[3]);
            return 2;
        }
        fclose(f);
        response = closing = file_response;
        response_len = closing_len = n;
    }
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    sched_getaffinity(0, sizeof allowed, &allowed);
    int cpus[CPU_SETSIZE], ncpus = 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &allowed)) cpus[ncpus++] = c;
    if (ncpus == 0) cpus[ncpus++] = 0;
    static struct worker workers[256];
    for (int i = 0; i < threads; i++) {
        workers[i].listener = open_listener();  // joins the group in index order
        workers[i].cpu = cpus[i % ncpus];
    }
    if (threads > 1 && threads <= ncpus) steer_by_cpu(workers[0].listener, workers, threads);
    pthread_t t[256];
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, run, &workers[i]);
    pthread_join(t[0], NULL);
    return 0;
}

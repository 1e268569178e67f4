/*
 * download.c — one URL to one file, verified and atomic (see download.h).
 *
 * libcurl's easy interface does the transfer; every chunk is written to a temporary file made
 * next to the destination (same directory, hence the same file system, so the
 * final rename() is atomic) and fed to an OpenSSL EVP MD5 context on the way. The temporary
 * file is renamed onto the destination only after the transfer ended cleanly (HTTP 2xx, as many
 * bytes as Content-Length announced), the digest matched, and the data reached the disk (fsync).
 * Any other outcome unlinks it.
 */
#include "download.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "../core/lt.h"

typedef struct {
    int         fd;
    EVP_MD_CTX *md;
    int64_t     nbytes;          /* body bytes written                       */
    int         write_errno;     /* set when writing the file failed         */
    int         digest_failed;   /* set when EVP_DigestUpdate failed         */
    /* progress bar */
    int         show;
    const char *label;
    double      t0, last_draw;
    int         drawn;           /* a bar line is on the terminal            */
} xfer;

void lt_download_defaults(lt_download_opts *o)
{
    o->connect_timeout = 15;
    o->low_speed_limit = 1;
    o->low_speed_time  = 30;
    o->timeout         = 0;
    o->progress        = 1;
    o->label           = NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- progress bar ------------------------------------------------------------------------ */

static void human_bytes(char *buf, size_t n, double b)
{
    static const char *unit[] = { "B", "kB", "MB", "GB", "TB" };
    int u = 0;
    while (b >= 1000 && u < 4) { b /= 1000; u++; }
    snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

static void draw_bar(xfer *x, curl_off_t total, curl_off_t now, int final)
{
    char got[32], all[32], rate[32], bar[32];
    double dt = now_s() - x->t0;
    human_bytes(got, sizeof got, (double)now);
    human_bytes(rate, sizeof rate, dt > 0 ? (double)now / dt : 0);
    if (total > 0) {
        int pct = (int)(100.0 * (double)now / (double)total);
        int w = (int)(sizeof bar - 2), fill = (int)((double)w * (double)now / (double)total);
        if (pct > 100) pct = 100;
        if (fill > w) fill = w;
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
        bar[w] = '\0';
        human_bytes(all, sizeof all, (double)total);
        fprintf(stderr, "\r%-28.28s [%s] %3d%%  %s / %s  %s/s ", x->label, bar, pct, got, all, rate);
    } else {
        fprintf(stderr, "\r%-28.28s %s  %s/s ", x->label, got, rate);
    }
    if (final) fputc('\n', stderr);
    fflush(stderr);
    x->drawn = !final;
}

static int xferinfo_cb(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    xfer *x = p;
    double t = now_s();
    /* Redraw at most 10 times a second; libcurl calls this far more often. */
    if (t - x->last_draw >= 0.1 && dlnow > 0) {
        x->last_draw = t;
        draw_bar(x, dltotal, dlnow, 0);
    }
    return 0;
}

/* ---- body -------------------------------------------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *p)
{
    xfer *x = p;
    size_t n = size * nmemb, off = 0;
    while (off < n) {
        ssize_t w = write(x->fd, ptr + off, n - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            x->write_errno = errno;
            return 0;                       /* libcurl stops with CURLE_WRITE_ERROR */
        }
        off += (size_t)w;
    }
    if (EVP_DigestUpdate(x->md, ptr, n) != 1) { x->digest_failed = 1; return 0; }
    x->nbytes += (int64_t)n;
    return n;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static int valid_md5(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return i == 32;
}

/* Loopback never goes through a proxy (a test server on 127.0.0.1 must not be proxied), but
 * the user's no_proxy list is kept. Returns a malloc'ed list, NULL on OOM. */
static char *noproxy_list(void)
{
    static const char loop[] = "localhost,127.0.0.1,::1";
    const char *env = getenv("no_proxy");
    if (!env || !*env) env = getenv("NO_PROXY");
    size_t n = (env ? strlen(env) + 1 : 0) + sizeof loop;
    char *s = malloc(n);
    if (!s) return NULL;
    if (env && strcmp(env, "*") == 0) snprintf(s, n, "*");  /* libcurl: "*" alone = all hosts */
    else if (env && *env) snprintf(s, n, "%s,%s", env, loop);
    else snprintf(s, n, "%s", loop);
    return s;
}

static const char *basename_of(const char *url)
{
    const char *s = strrchr(url, '/');
    return s && s[1] ? s + 1 : url;
}

/* Creates `<path>.part.XXXXXX` (random suffix) exclusively, with mode 0666 less the umask like
 * any new file (mkstemp would make it 0600, and reading the umask means changing it). tmp holds
 * strlen(path) + sizeof ".part.XXXXXX" bytes. Returns the descriptor, or -1 with errno. */
static int create_temp(const char *path, char *tmp, size_t n)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned char r[6];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
            /* no getrandom (old kernel): the clock and the pid are unique enough with O_EXCL */
            uint64_t x = (uint64_t)(now_s() * 1e9) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)attempt;
            for (size_t i = 0; i < sizeof r; i++) r[i] = (unsigned char)(x >> (8 * i));
        }
        char suf[7];
        for (size_t i = 0; i < sizeof r; i++) suf[i] = set[r[i] % (sizeof set - 1)];
        suf[6] = '\0';
        snprintf(tmp, n, "%s.part.%s", path, suf);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    errno = EEXIST;
    return -1;
}

/* fsync the directory holding path, so the rename itself survives a crash. Best effort. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) { fsync(fd); close(fd); }
    free(dir);
}

/* Why curl stopped, in words; errbuf holds libcurl's own detail when it has one. */
static int transfer_error(CURL *c, CURLcode rc, const char *url, const char *tmp, const xfer *x,
                          const char *errbuf)
{
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    long code = 0;
    switch (rc) {
    case CURLE_HTTP_RETURNED_ERROR:
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        return lt_error("download %s: HTTP %ld", url, code);
    case CURLE_WRITE_ERROR:
        if (x->write_errno)
            return lt_error("download %s: cannot write %s: %s", url, tmp, strerror(x->write_errno));
        if (x->digest_failed)
            return lt_error("download %s: MD5 update failed", url);
        break;
    case CURLE_COULDNT_CONNECT:
        return lt_error("download %s: could not connect (%s)", url, detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return lt_error("download %s: could not resolve host (%s)", url, detail);
    case CURLE_OPERATION_TIMEDOUT:
        return lt_error("download %s: timed out (%s)", url, detail);
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return lt_error("download %s: truncated transfer after %lld bytes (%s)", url,
                        (long long)x->nbytes, detail);
    default:
        break;
    }
    return lt_error("download %s: %s", url, detail);
}

/* ---- the download ------------------------------------------------------------------------ */

/* Runs the transfer into x->fd and checks everything short of the rename. */
static int fetch(const char *url, const char *tmp, const char *md5_hex, const lt_download_opts *o,
                 xfer *x, char md5_out[33])
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    char *noproxy = noproxy_list();
    if (!c || !noproxy) {
        if (c) curl_easy_cleanup(c);
        free(noproxy);
        return lt_error("download %s: cannot initialise libcurl", url);
    }
    long lsl = o->low_speed_limit, lst = o->low_speed_time;
    if (lsl <= 0 || lst <= 0) lsl = 1, lst = 30;
    double ct = o->connect_timeout > 0 ? o->connect_timeout : 15;

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);         /* 4xx/5xx: an error, no body kept */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE));
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_NOPROXY, noproxy);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "luatorch/0.1 (libcurl)");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(ct * 1000));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, lsl);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, lst);
    if (o->timeout > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(o->timeout * 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    if (x->show) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    }

    CURLcode rc = curl_easy_perform(c);
    int st = LT_OK;
    curl_off_t clen = -1;
    long code = 0;
    if (rc != CURLE_OK) {
        st = transfer_error(c, rc, url, tmp, x, errbuf);
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
        /* file:// reports code 0; an HTTP answer must be a 2xx after the redirects. */
        if (code != 0 && (code < 200 || code > 299))
            st = lt_error("download %s: HTTP %ld", url, code);
        else if (clen >= 0 && clen != (curl_off_t)x->nbytes)
            st = lt_error("download %s: truncated transfer: received %lld of %lld bytes", url,
                          (long long)x->nbytes, (long long)clen);
    }
    if (x->drawn) {
        curl_off_t total = clen;
        if (total < 0) curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
        draw_bar(x, total, (curl_off_t)x->nbytes, 1);
    }
    curl_easy_cleanup(c);
    free(noproxy);
    if (st != LT_OK) return st;

    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_DigestFinal_ex(x->md, dig, &dlen) != 1 || dlen != 16)
        return lt_error("download %s: MD5 computation failed", url);
    for (unsigned i = 0; i < 16; i++) snprintf(md5_out + 2 * i, 3, "%02x", dig[i]);
    if (md5_hex && strcasecmp(md5_hex, md5_out) != 0)
        return lt_error("download %s: MD5 mismatch: expected %s, got %s (%lld bytes)", url,
                        md5_hex, md5_out, (long long)x->nbytes);
    return LT_OK;
}

int lt_md5_file(const char *path, char md5_out[33], int64_t *nbytes_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lt_error("md5 %s: %s", path, strerror(errno));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int st = LT_OK;
    int64_t total = 0;
    if (!md || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1) {
        st = lt_error("md5 %s: cannot initialise MD5", path);
    } else {
        char buf[1 << 16];
        for (;;) {
            ssize_t r = read(fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) { st = lt_error("md5 %s: %s", path, strerror(errno)); break; }
            if (r == 0) break;
            if (EVP_DigestUpdate(md, buf, (size_t)r) != 1) {
                st = lt_error("md5 %s: MD5 update failed", path);
                break;
            }
            total += r;
        }
    }
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (st == LT_OK && (EVP_DigestFinal_ex(md, dig, &dlen) != 1 || dlen != 16))
        st = lt_error("md5 %s: MD5 computation failed", path);
    if (st == LT_OK) {
        for (unsigned i = 0; i < 16; i++) snprintf(md5_out + 2 * i, 3, "%02x", dig[i]);
        if (nbytes_out) *nbytes_out = total;
    }
    EVP_MD_CTX_free(md);
    close(fd);
    return st;
}

int lt_download(const char *url, const char *path, const char *md5_hex,
                const lt_download_opts *opts, char md5_out[33], int64_t *nbytes_out)
{
    lt_download_opts def;
    if (!opts) { lt_download_defaults(&def); opts = &def; }
    if (!url || !*url) return lt_error("download: empty URL");
    if (!path || !*path) return lt_error("download %s: empty destination path", url);
    if (md5_hex && !valid_md5(md5_hex))
        return lt_error("download %s: invalid MD5 '%s' (want 32 hex digits)", url, md5_hex);

    size_t n = strlen(path) + sizeof ".part.XXXXXX";
    char *tmp = malloc(n);
    if (!tmp) return lt_error("download %s: out of memory", url);

    xfer x = { .fd = -1 };
    x.show = opts->progress == 2 || (opts->progress == 1 && isatty(STDERR_FILENO));
    x.label = opts->label ? opts->label : basename_of(url);
    x.t0 = now_s();
    x.last_draw = 0;
    char md5[33] = "";
    int st;

    x.fd = create_temp(path, tmp, n);
    if (x.fd < 0) {
        st = lt_error("download %s: cannot create a temporary file next to %s: %s", url, path,
                      strerror(errno));
        free(tmp);
        return st;
    }
    x.md = EVP_MD_CTX_new();
    if (!x.md || EVP_DigestInit_ex(x.md, EVP_md5(), NULL) != 1)
        st = lt_error("download %s: cannot initialise MD5", url);
    else
        st = fetch(url, tmp, md5_hex, opts, &x, md5);
    EVP_MD_CTX_free(x.md);

    if (st == LT_OK && fsync(x.fd) != 0)
        st = lt_error("download %s: cannot sync %s: %s", url, tmp, strerror(errno));
    if (close(x.fd) != 0 && st == LT_OK)
        st = lt_error("download %s: cannot close %s: %s", url, tmp, strerror(errno));
    if (st == LT_OK && rename(tmp, path) != 0)
        st = lt_error("download %s: cannot rename %s to %s: %s", url, tmp, path, strerror(errno));
    if (st != LT_OK) {
        unlink(tmp);
    } else {
        sync_dir(path);
        if (md5_out) memcpy(md5_out, md5, sizeof md5);
        if (nbytes_out) *nbytes_out = x.nbytes;
    }
    free(tmp);
    return st;
}

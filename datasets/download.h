/*
 * download.h — fetches one URL to a file with libcurl, checking an MD5 (OpenSSL EVP) while it
 * streams, and publishes the file atomically: the body goes to `<path>.part.XXXXXX` in the same
 * directory, is fsync'ed, and is renamed onto `path` only when the transfer completed and the
 * checksum matched. On any failure the temporary file is removed, so `path` either does not
 * appear or is complete and verified.
 *
 * Errors follow the core's convention: LT_ERR with a message (lt_errmsg()) naming the URL and
 * the reason ("HTTP 404", "could not connect", "truncated transfer", "MD5 mismatch", ...).
 */
#ifndef LT_DOWNLOAD_H
#define LT_DOWNLOAD_H

#include <stdint.h>

typedef struct {
    double connect_timeout;   /* seconds to establish the connection; <= 0: 15 s            */
    long   low_speed_limit;   /* abort when slower than this many bytes/s ...               */
    long   low_speed_time;    /* ... for this many seconds; limit <= 0 or time <= 0: 1 B/s, 30 s */
    double timeout;           /* whole transfer, seconds; <= 0: no limit                    */
    int    progress;          /* 0: none; 1: a bar on stderr when it is a TTY; 2: always   */
    const char *label;        /* name shown by the progress bar; NULL: the URL's last part */
} lt_download_opts;

/* Fills opts with the defaults above (progress = 1). */
void lt_download_defaults(lt_download_opts *opts);

/* Downloads url into path. md5_hex (32 hex digits, any case) may be NULL: then nothing is
 * checked. opts may be NULL (defaults). On success, when md5_out is not NULL, it receives the
 * MD5 of the file as 32 lowercase hex digits + NUL, and *nbytes_out (if not NULL) its size. */
int lt_download(const char *url, const char *path, const char *md5_hex,
                const lt_download_opts *opts, char md5_out[33], int64_t *nbytes_out);

/* The MD5 of a file, as 32 lowercase hex digits + NUL; *nbytes_out (if not NULL) its size. */
int lt_md5_file(const char *path, char md5_out[33], int64_t *nbytes_out);

#endif

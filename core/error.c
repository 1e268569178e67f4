/*
 * error.c — the core's error channel: a thread-local message set by lt_error() and read by
 * the Lua layer, which raises it as a Lua error.
 */
#include <stdarg.h>
#include <stdio.h>

#include "lt.h"

static _Thread_local char errbuf[1024];

int lt_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return LT_ERR;
}

const char *lt_errmsg(void) { return errbuf[0] ? errbuf : "unknown error"; }

char *lt_shape_str(char *buf, size_t len, int ndim, const int64_t *size)
{
    size_t used = 0;
    buf[0] = '\0';
    if (ndim == 0) {
        snprintf(buf, len, "scalar");
        return buf;
    }
    for (int i = 0; i < ndim && used < len; i++) {
        int n = snprintf(buf + used, len - used, i ? " x %lld" : "%lld", (long long)size[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}

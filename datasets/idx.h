/*
 * idx.h — the IDX file reader (MNIST's format: a magic number giving the element type and
 * the number of dims, the dims as big-endian uint32, then the elements, big-endian), from
 * gzip-compressed or plain files. Part of the core library (no Lua).
 *
 * Element types map to tensor dtypes: 0x08 ubyte -> uint8, 0x09 byte / 0x0B short /
 * 0x0C int -> int64, 0x0D float -> float32, 0x0E double -> float64.
 *
 * Every malformed input is an LT_ERR whose message names the file and the problem: bad
 * magic, unsupported type, wrong number of dims, truncated data, trailing data, corrupt
 * gzip (CRC, length). Nothing is allocated for the data before its declared size is known
 * to fit what the file can hold (for gzip: deflate's maximal ratio of 1032:1).
 */
#ifndef LT_IDX_H
#define LT_IDX_H

#include <stddef.h>

#include "../core/lt.h"

/* IDX element type codes */
enum { LT_IDX_UBYTE = 0x08, LT_IDX_BYTE = 0x09, LT_IDX_SHORT = 0x0B, LT_IDX_INT = 0x0C,
       LT_IDX_FLOAT = 0x0D, LT_IDX_DOUBLE = 0x0E };

/* Reads the IDX file at path into *out (a new contiguous tensor). expect_ndim > 0 requires
 * that many dims (checked before any data is read); 0 accepts 1..LT_MAXDIM. */
int lt_idx_read(lt_tensor **out, const char *path, int expect_ndim);

/* The same from memory (the fuzzer's entry point); name appears in error messages. */
int lt_idx_read_mem(lt_tensor **out, const void *data, size_t len, const char *name,
                    int expect_ndim);

#endif /* LT_IDX_H */

/*
 * sha256.h - SHA-256 (FIPS 180-4), for the checksum that ends every
 * container file (container.c). Internal; not part of the public API.
 */
#ifndef ASR_SHA256_H
#define ASR_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* The 32-byte digest of n bytes at data. One call: the files are mapped
 * whole, so no incremental interface is needed. */
void asr_sha256(const uint8_t *data, size_t n, uint8_t digest[32]);

#endif /* ASR_SHA256_H */

/*
 * json.h - a small strict JSON parser (RFC 8259) for the headers of the
 * container files. Internal; not part of the public API.
 *
 * The whole document becomes a tree of json_value; strings are decoded
 * (escapes, \u with surrogate pairs) to NUL-terminated UTF-8. Nesting is
 * limited to JSON_MAX_DEPTH and the caller bounds the text length, so a
 * hostile header costs at most memory proportional to its own size.
 */
#ifndef ASR_JSON_H
#define ASR_JSON_H

#include <stddef.h>

#include "asr.h"

#define JSON_MAX_DEPTH 64

typedef enum json_type {
    JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT
} json_type;

typedef struct json_value {
    json_type type;
    double num;                 /* JSON_NUMBER                                 */
    char *str;                  /* JSON_STRING: decoded, NUL-terminated        */
    size_t len;                 /* its length in bytes (may hold NULs)         */
    struct json_value *items;   /* JSON_ARRAY elements, JSON_OBJECT values     */
    char **keys;                /* JSON_OBJECT: key of each value              */
    size_t n;                   /* element / member count                      */
} json_value;

/* Parses n bytes of text into *out (free with json_free). On a syntax
 * error returns ASR_E_FORMAT with the byte offset in the message. */
int json_parse(const char *text, size_t n, json_value *out, asr_status *st);
void json_free(json_value *v);

/* Member key of an object (the last one when repeated, as Python's json
 * module keeps); NULL when v is not an object or lacks it. */
const json_value *json_get(const json_value *v, const char *key);
/* The string of v, or NULL when v is NULL or not a string. */
const char *json_str(const json_value *v);
/* Whether v is a number that is an integer in [lo, hi]; stores it. */
int json_int(const json_value *v, double lo, double hi, long long *out);

/* Whether n bytes are valid UTF-8 (as Python's strict decoder holds it). */
int json_utf8_valid(const char *s, size_t n);

#endif /* ASR_JSON_H */

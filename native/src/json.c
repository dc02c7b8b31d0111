/*
 * json.c - the strict JSON parser of json.h: recursive descent over a
 * bounded buffer, every read checked against its end.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json.h"

typedef struct parser {
    const char *s;
    size_t n, i;
    asr_status *st;
} parser;

static int perr(parser *p, const char *what)
{
    return asr_fail(p->st, ASR_E_FORMAT, "JSON header: %s at byte %zu", what, p->i);
}

static void skip_ws(parser *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
                           p->s[p->i] == '\r'))
        p->i++;
}

static int hex4(parser *p, unsigned *out)
{
    unsigned v = 0;
    int k;
    if (p->n - p->i < 4)
        return perr(p, "truncated \\u escape");
    for (k = 0; k < 4; k++) {
        char c = p->s[p->i++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return perr(p, "bad \\u escape");
    }
    *out = v;
    return ASR_OK;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of a valid UTF-8 sequence starting at s (at most n bytes), or 0.
 * Overlong forms, surrogates and code points past U+10FFFF are invalid, as
 * Python's decoder holds them. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && s[1] < 0xA0) return 0;
        if (c == 0xED && s[1] >= 0xA0) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && s[1] < 0x90) return 0;
        if (c == 0xF4 && s[1] >= 0x90) return 0;
        return 4;
    }
    return 0;
}

/* A string starting after its opening quote. The decoded form is never
 * longer than the source (an escape of 6 or 12 bytes gives at most 4), so
 * one allocation of the source length suffices. */
static int parse_string(parser *p, char **out, size_t *len)
{
    size_t start = p->i, end = p->i, o = 0;
    char *buf;
    while (end < p->n && p->s[end] != '"') {
        if (p->s[end] == '\\')
            end++;
        end++;
    }
    if (end >= p->n)
        return perr(p, "unterminated string");
    buf = malloc(end - start + 1);
    if (!buf)
        return asr_fail(p->st, ASR_E_NOMEM, "out of memory parsing the JSON header");
    while (p->i < end) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c < 0x20) {
            free(buf);
            return perr(p, "control character in a string");
        }
        if (c == '\\') {
            char e = p->s[p->i + 1];
            p->i += 2;
            switch (e) {
            case '"': buf[o++] = '"'; break;
            case '\\': buf[o++] = '\\'; break;
            case '/': buf[o++] = '/'; break;
            case 'b': buf[o++] = '\b'; break;
            case 'f': buf[o++] = '\f'; break;
            case 'n': buf[o++] = '\n'; break;
            case 'r': buf[o++] = '\r'; break;
            case 't': buf[o++] = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (hex4(p, &cp)) { free(buf); return ASR_E_FORMAT; }
                if (cp >= 0xD800 && cp < 0xDC00 && end - p->i >= 6 && p->s[p->i] == '\\' &&
                    p->s[p->i + 1] == 'u') {
                    size_t save = p->i;
                    p->i += 2;
                    if (hex4(p, &lo)) { free(buf); return ASR_E_FORMAT; }
                    if (lo >= 0xDC00 && lo < 0xE000)
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    else
                        p->i = save;
                }
                /* A lone surrogate cannot be UTF-8: refused, since every
                 * string of a header is a name or a label. */
                if (cp >= 0xD800 && cp < 0xE000) {
                    free(buf);
                    return perr(p, "lone surrogate in a \\u escape");
                }
                o += put_utf8(buf + o, cp);
                break;
            }
            default:
                free(buf);
                return perr(p, "bad escape");
            }
            continue;
        }
        {
            size_t k = utf8_len((const unsigned char *)p->s + p->i, end - p->i);
            if (!k) {
                free(buf);
                return perr(p, "invalid UTF-8");
            }
            memcpy(buf + o, p->s + p->i, k);
            o += k;
            p->i += k;
        }
    }
    if (p->i != end) {     /* an escape ran over the closing quote */
        free(buf);
        return perr(p, "bad escape");
    }
    p->i = end + 1;
    buf[o] = '\0';
    *out = buf;
    *len = o;
    return ASR_OK;
}

/* The RFC 8259 number grammar, checked before strtod sees it, so strtod's
 * extras (hex, inf, nan, leading '+') are never accepted. */
static int parse_number(parser *p, double *out)
{
    size_t i = p->i;
    char tmp[64];
    if (i < p->n && p->s[i] == '-') i++;
    if (i < p->n && p->s[i] == '0') i++;
    else if (i < p->n && p->s[i] >= '1' && p->s[i] <= '9')
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
    else
        return perr(p, "bad number");
    if (i < p->n && p->s[i] == '.') {
        i++;
        if (!(i < p->n && p->s[i] >= '0' && p->s[i] <= '9')) return perr(p, "bad number");
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (!(i < p->n && p->s[i] >= '0' && p->s[i] <= '9')) return perr(p, "bad number");
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    if (i - p->i >= sizeof(tmp))
        return perr(p, "number too long");
    memcpy(tmp, p->s + p->i, i - p->i);
    tmp[i - p->i] = '\0';
    *out = strtod(tmp, NULL);
    p->i = i;
    return ASR_OK;
}

static int parse_value(parser *p, json_value *v, int depth);

static int parse_container(parser *p, json_value *v, int depth, int object)
{
    size_t cap = 0, kcap = 0;
    char close = object ? '}' : ']';
    int rc;
    if (depth >= JSON_MAX_DEPTH)
        return perr(p, "nesting too deep");
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return ASR_OK;
    }
    for (;;) {
        if (asr_grow((void **)&v->items, &cap, v->n + 1, sizeof(json_value)))
            return asr_fail(p->st, ASR_E_NOMEM, "out of memory parsing the JSON header");
        if (object) {
            char *key;
            size_t klen;
            if (asr_grow((void **)&v->keys, &kcap, v->n + 1, sizeof(char *)))
                return asr_fail(p->st, ASR_E_NOMEM, "out of memory parsing the JSON header");
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != '"')
                return perr(p, "expected a member name");
            p->i++;
            if ((rc = parse_string(p, &key, &klen)))
                return rc;
            v->keys[v->n] = key;
            memset(&v->items[v->n], 0, sizeof(json_value));
            v->n++;              /* counted now, so json_free frees the key */
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':')
                return perr(p, "expected ':'");
            p->i++;
            if ((rc = parse_value(p, &v->items[v->n - 1], depth + 1)))
                return rc;
        } else {
            memset(&v->items[v->n], 0, sizeof(json_value));
            v->n++;
            if ((rc = parse_value(p, &v->items[v->n - 1], depth + 1)))
                return rc;
        }
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            return ASR_OK;
        }
        return perr(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int literal(parser *p, const char *word, json_type type, json_value *v)
{
    size_t k = strlen(word);
    if (p->n - p->i < k || memcmp(p->s + p->i, word, k) != 0)
        return perr(p, "unexpected character");
    p->i += k;
    v->type = type;
    return ASR_OK;
}

static int parse_value(parser *p, json_value *v, int depth)
{
    char c;
    skip_ws(p);
    if (p->i >= p->n)
        return perr(p, "unexpected end");
    c = p->s[p->i];
    switch (c) {
    case '{': v->type = JSON_OBJECT; return parse_container(p, v, depth, 1);
    case '[': v->type = JSON_ARRAY; return parse_container(p, v, depth, 0);
    case '"': p->i++; v->type = JSON_STRING; return parse_string(p, &v->str, &v->len);
    case 't': return literal(p, "true", JSON_TRUE, v);
    case 'f': return literal(p, "false", JSON_FALSE, v);
    case 'n': return literal(p, "null", JSON_NULL, v);
    /* Not JSON, but Python's json module writes and reads these (a
     * quantization report may hold an infinity), so a header it wrote
     * must parse here too. */
    case 'N': v->type = JSON_NUMBER; v->num = NAN; return literal(p, "NaN", JSON_NUMBER, v);
    case 'I': v->type = JSON_NUMBER; v->num = INFINITY; return literal(p, "Infinity", JSON_NUMBER, v);
    case '-':
        if (p->n - p->i > 1 && p->s[p->i + 1] == 'I') {
            v->num = -INFINITY;
            return literal(p, "-Infinity", JSON_NUMBER, v);
        }
        v->type = JSON_NUMBER;
        return parse_number(p, &v->num);
    default:
        v->type = JSON_NUMBER;
        return parse_number(p, &v->num);
    }
}

int json_parse(const char *text, size_t n, json_value *out, asr_status *st)
{
    parser p;
    int rc;
    p.s = text;
    p.n = n;
    p.i = 0;
    p.st = st;
    memset(out, 0, sizeof(*out));
    rc = parse_value(&p, out, 0);
    if (rc == ASR_OK) {
        skip_ws(&p);
        if (p.i != n)
            rc = perr(&p, "trailing characters");
    }
    if (rc != ASR_OK)
        json_free(out);
    return rc;
}

void json_free(json_value *v)
{
    size_t i;
    if (!v)
        return;
    for (i = 0; i < v->n; i++) {
        json_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    memset(v, 0, sizeof(*v));
}

int json_utf8_valid(const char *s, size_t n)
{
    size_t i = 0, k;
    while (i < n) {
        k = utf8_len((const unsigned char *)s + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

const json_value *json_get(const json_value *v, const char *key)
{
    size_t i;
    if (!v || v->type != JSON_OBJECT)
        return NULL;
    for (i = v->n; i-- > 0;)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}

const char *json_str(const json_value *v)
{
    return v && v->type == JSON_STRING ? v->str : NULL;
}

int json_int(const json_value *v, double lo, double hi, long long *out)
{
    if (!v || v->type != JSON_NUMBER || !(v->num >= lo && v->num <= hi) ||
        v->num != floor(v->num))
        return 0;
    *out = (long long)v->num;
    return 1;
}

/*
 * wav.c - RIFF/WAVE parsing (asr_files.h): PCM and float, plain and
 * EXTENSIBLE, mixed down to mono float the way asr/audio.py mixes what
 * soundfile gives it. Every chunk size is checked against the bytes left.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr_files.h"
#include "common.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* The tail shared by every WAVE_FORMAT_EXTENSIBLE sub-format GUID
 * (xxxxxxxx-0000-0010-8000-00AA00389B71); the first two bytes are the
 * format code. */
static const uint8_t GUID_TAIL[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                      0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

static int parse_fmt(const uint8_t *p, uint32_t size, asr_wav_info *info, asr_status *st)
{
    uint16_t tag, align;
    if (size < 16)
        return asr_fail(st, ASR_E_FORMAT, "WAV: fmt chunk of %u bytes is too short", size);
    tag = le16(p);
    info->channels = le16(p + 2);
    info->sample_rate = le32(p + 4);
    align = le16(p + 12);
    info->bits = le16(p + 14);
    if (tag == 0xFFFE) {
        if (size < 40 || le16(p + 16) < 22)
            return asr_fail(st, ASR_E_FORMAT, "WAV: EXTENSIBLE fmt chunk is too short");
        if (memcmp(p + 26, GUID_TAIL, sizeof(GUID_TAIL)) != 0)
            return asr_fail(st, ASR_E_FORMAT, "WAV: unknown EXTENSIBLE sub-format");
        tag = le16(p + 24);
    }
    if (tag != ASR_WAV_PCM && tag != ASR_WAV_FLOAT)
        return asr_fail(st, ASR_E_FORMAT, "WAV: format 0x%04x is not PCM or float", tag);
    info->format = tag;
    if (tag == ASR_WAV_PCM ? (info->bits != 8 && info->bits != 16 && info->bits != 24 &&
                              info->bits != 32)
                           : info->bits != 32)
        return asr_fail(st, ASR_E_FORMAT, "WAV: %u-bit %s samples are not supported", info->bits,
                        tag == ASR_WAV_PCM ? "PCM" : "float");
    if (info->channels < 1 || info->channels > ASR_WAV_MAX_CHANNELS)
        return asr_fail(st, ASR_E_FORMAT, "WAV: %u channels (1..%d supported)", info->channels,
                        ASR_WAV_MAX_CHANNELS);
    if (info->sample_rate < 1)
        return asr_fail(st, ASR_E_FORMAT, "WAV: sample rate 0");
    if (align != info->channels * (info->bits / 8))
        return asr_fail(st, ASR_E_FORMAT, "WAV: block align %u for %u channels of %u bits", align,
                        info->channels, info->bits);
    return ASR_OK;
}

/* One sample of the given layout as float: soundfile's scaling (integers
 * over 2^(bits-1), 8-bit unsigned around 128), exact for up to 24 bits. */
static float sample_at(const uint8_t *p, const asr_wav_info *info)
{
    switch (info->bits) {
    case 8:
        return (float)((int)p[0] - 128) * (1.0f / 128.0f);
    case 16:
        return (float)(int16_t)le16(p) * (1.0f / 32768.0f);
    case 24: {
        int32_t v = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24);
        return (float)(v / 256) * (1.0f / 8388608.0f);
    }
    default:
        if (info->format == ASR_WAV_FLOAT) {
            uint32_t u = le32(p);
            float f;
            memcpy(&f, &u, 4);
            return f;
        }
        return (float)(int32_t)le32(p) * (1.0f / 2147483648.0f);
    }
}

int asr_wav_parse(const uint8_t *data, size_t n, asr_wav_info *info, float *samples,
                  size_t cap, asr_status *st)
{
    size_t pos = 12, frame_bytes, avail = 0, i, count;
    const uint8_t *pcm = NULL;
    int have_fmt = 0, rc;
    if (!info || (!data && n))
        return asr_fail(st, ASR_E_ARG, "asr_wav_parse: NULL argument");
    memset(info, 0, sizeof(*info));
    if (n < 12 || memcmp(data, "RIFF", 4) != 0 || memcmp(data + 8, "WAVE", 4) != 0)
        return asr_fail(st, ASR_E_FORMAT, "WAV: not a RIFF/WAVE file");
    /* The RIFF size is not trusted: writers that stream leave it wrong, and
     * the chunks themselves say where they end. */
    while (n - pos >= 8) {
        uint32_t size = le32(data + pos + 4);
        const uint8_t *body = data + pos + 8;
        size_t left = n - pos - 8;
        if (memcmp(data + pos, "fmt ", 4) == 0) {
            if (size > left)
                return asr_fail(st, ASR_E_FORMAT, "WAV: fmt chunk runs past the end of the file");
            if ((rc = parse_fmt(body, size, info, st)))
                return rc;
            have_fmt = 1;
        } else if (memcmp(data + pos, "data", 4) == 0) {
            if (!have_fmt)
                return asr_fail(st, ASR_E_FORMAT, "WAV: data chunk before the fmt chunk");
            pcm = body;
            avail = size;
            if (size > left) {
                /* A writer that died before fixing the size (or one that
                 * streamed, 0xFFFFFFFF): read what is there. */
                avail = left;
                info->truncated = 1;
            }
            break;
        }
        /* Chunks are padded to an even size. */
        if (size > left || left - size < (size & 1u))
            break;
        pos += 8 + (size_t)size + (size & 1u);
    }
    if (!have_fmt)
        return asr_fail(st, ASR_E_FORMAT, "WAV: no fmt chunk");
    if (!pcm)
        return asr_fail(st, ASR_E_FORMAT, "WAV: no data chunk");
    frame_bytes = (size_t)info->channels * (info->bits / 8);
    info->n_frames = avail / frame_bytes;
    if (!samples)
        return ASR_OK;
    count = info->n_frames < cap ? info->n_frames : cap;
    for (i = 0; i < count; i++) {
        const uint8_t *fr = pcm + i * frame_bytes;
        size_t c, step = info->bits / 8;
        /* asr/audio.py: x.mean(axis=1, dtype=float32): a float sum in
         * channel order, then one division. */
        float sum = 0.0f;
        for (c = 0; c < info->channels; c++)
            sum += sample_at(fr + c * step, info);
        samples[i] = info->channels == 1 ? sum : sum / (float)info->channels;
    }
    return ASR_OK;
}

int asr_wav_read(const char *path, asr_wav_info *info, float **samples, asr_status *st)
{
    FILE *fp;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0, got;
    float *out;
    int rc;
    if (!path || !info || !samples)
        return asr_fail(st, ASR_E_ARG, "asr_wav_read: NULL argument");
    *samples = NULL;
    fp = fopen(path, "rb");
    if (!fp)
        return asr_fail(st, ASR_E_IO, "%.160s: cannot open: %s", path, strerror(errno));
    for (;;) {
        if (asr_grow((void **)&buf, &cap, n + 65536, 1)) {
            fclose(fp);
            free(buf);
            return asr_fail(st, ASR_E_NOMEM, "%.160s: out of memory", path);
        }
        got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (!got)
            break;
    }
    if (ferror(fp)) {
        fclose(fp);
        free(buf);
        return asr_fail(st, ASR_E_IO, "%.160s: cannot read", path);
    }
    fclose(fp);
    rc = asr_wav_parse(buf, n, info, NULL, 0, st);
    if (rc == ASR_OK) {
        /* n_frames <= n, but four bytes each may not fit a 32-bit size_t. */
        out = info->n_frames < SIZE_MAX / sizeof(float) - 1
                  ? malloc((info->n_frames + 1) * sizeof(float)) : NULL;
        if (!out)
            rc = asr_fail(st, ASR_E_NOMEM, "%.160s: out of memory", path);
        else if ((rc = asr_wav_parse(buf, n, info, out, info->n_frames, st)) != ASR_OK)
            free(out);
        else
            *samples = out;
    } else if (st) {
        char inner[sizeof(st->message)];
        memcpy(inner, st->message, sizeof(inner));
        inner[sizeof(inner) - 1] = '\0';
        asr_fail(st, rc, "%.100s: %.130s", path, inner);
    }
    free(buf);
    return rc;
}

void asr_wav_free(float *samples)
{
    free(samples);
}

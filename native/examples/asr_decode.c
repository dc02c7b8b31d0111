/*
 * asr_decode.c - the recognizer from C alone: reads WAV files and prints
 * their transcripts, as `asr-decode` does, without Python.
 *
 *   asr_decode [--json] [--models DIR] [--precision int8|int16|float]
 *              [--model F.asrm] [--lexicon F.asrlex]
 *              [--lm F.asrlm | --no-lm | --phrases FILE]
 *              [--kernel auto|ref|sse41|avx2|avx512vnni|neon|neondot]
 *              [--frontend auto|int|float] FILE.wav ...
 *
 * Output: one line per file: the text (with several files, FILE<TAB>TEXT),
 * or with --json one JSON object per line: file, text, words (word, start,
 * end, conf), duration, rtf, precision, the fields of asr-decode --json.
 * The models default to DIR/en-us-PRECISION.asrm, DIR/en-us.asrlex and
 * DIR/en-us.asrlm, DIR being --models, else $ASR_MODEL_DIR, else "models".
 * --phrases FILE (one phrase per line) recognizes only those phrases, as
 * asr-decode --phrases does (without its out-of-grammar rejection, which
 * is Python's: compare with asr-decode --phrases FILE --reject 0).
 * --frontend: the integer feature frontend (integer models only) or the
 * float one; auto: the library's default for the model's precision.
 * Exit status: 0 every file decoded, 1 some file failed, 2 usage error.
 *
 * Build: make -C native example (host), example-armv7, example-aarch64.
 * Audio goes to the recognizer in 0.1 s chunks, as a microphone would
 * deliver it; the result is the same for any chunking.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asr_recognizer.h"

/* Samples per chunk fed to the stream: 0.1 s at 16 kHz. */
#define CHUNK 1600

typedef struct options {
    int json;
    const char *models;
    const char *precision;
    const char *model, *lexicon, *lm, *phrases;
    int no_lm;
    int kernel;
    int frontend;
} options;

static void usage(FILE *f)
{
    fprintf(f, "usage: asr_decode [--json] [--models DIR] [--precision int8|int16|float]\n"
               "                  [--model F.asrm] [--lexicon F.asrlex]\n"
               "                  [--lm F.asrlm | --no-lm | --phrases FILE]\n"
               "                  [--kernel auto|ref|sse41|avx2|avx512vnni|neon|neondot]\n"
               "                  [--frontend auto|int|float] FILE.wav ...\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int kernel_of(const char *name)
{
    static const char *names[] = {"ref", "sse41", "avx2", "avx512vnni", "neon", "neondot"};
    int i;
    if (!strcmp(name, "auto"))
        return ASR_KERNEL_AUTO;
    for (i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
        if (!strcmp(name, names[i]))
            return i;
    return -2;
}

/* A JSON string literal of s (UTF-8 passed through; controls escaped). */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* The words of every utterance of a file, gathered as the finals arrive. */
typedef struct transcript {
    char *text;
    size_t len, cap;
    asr_result_word *words;
    char **word_text;
    size_t n_words, words_cap;
} transcript;

static int append_text(transcript *t, const char *s)
{
    size_t k = strlen(s), need = t->len + k + 2;
    if (!k)
        return 0;
    if (need > t->cap) {
        size_t cap = need * 2;
        char *p = realloc(t->text, cap);
        if (!p)
            return -1;
        t->text = p;
        t->cap = cap;
    }
    if (t->len)
        t->text[t->len++] = ' ';
    memcpy(t->text + t->len, s, k + 1);
    t->len += k;
    return 0;
}

/* Adds final i of the stream's last call to t. */
static int add_final(transcript *t, const asr_rstream *s, size_t i, asr_status *st)
{
    asr_result r;
    size_t j;
    if (asr_rstream_final(s, i, &r, st) != ASR_OK)
        return -1;
    if (append_text(t, r.text))
        return -1;
    for (j = 0; j < r.n_words; j++) {
        size_t k = strlen(r.words[j].word);
        if (t->n_words == t->words_cap) {
            size_t cap = t->words_cap ? 2 * t->words_cap : 64;
            asr_result_word *w = realloc(t->words, cap * sizeof(*w));
            char **wt;
            if (!w)
                return -1;
            t->words = w;
            if (!(wt = realloc(t->word_text, cap * sizeof(*wt))))
                return -1;
            t->word_text = wt;
            t->words_cap = cap;
        }
        if (!(t->word_text[t->n_words] = malloc(k + 1)))
            return -1;
        memcpy(t->word_text[t->n_words], r.words[j].word, k + 1);
        t->words[t->n_words] = r.words[j];
        t->words[t->n_words].word = t->word_text[t->n_words];
        t->n_words++;
    }
    return 0;
}

static void transcript_free(transcript *t)
{
    size_t i;
    for (i = 0; i < t->n_words; i++)
        free(t->word_text[i]);
    free(t->word_text);
    free(t->words);
    free(t->text);
}

static void print_json(const char *path, const transcript *t, double duration, double elapsed,
                       const char *precision)
{
    size_t i;
    printf("{\"file\": ");
    json_string(path);
    printf(", \"text\": ");
    json_string(t->text ? t->text : "");
    printf(", \"words\": [");
    for (i = 0; i < t->n_words; i++) {
        printf("%s{\"word\": ", i ? ", " : "");
        json_string(t->words[i].word);
        printf(", \"start\": %.3f, \"end\": %.3f, \"conf\": %.3f}", t->words[i].start,
               t->words[i].end, (double)t->words[i].conf);
    }
    printf("], \"duration\": %.3f, \"rtf\": %.5f, \"precision\": ", duration,
           duration > 0 ? elapsed / duration : 0.0);
    json_string(precision);
    printf("}\n");
}

/* Decodes one file and prints its line; 0 on success. */
static int decode_file(const asr_recognizer *rec, const char *path, const options *o, int several)
{
    asr_status st = {0, ""};
    asr_wav_info info;
    asr_rstream *s = NULL;
    float *x = NULL;
    transcript t;
    size_t i, j, n;
    double t0 = now_s();
    int ok = 0;

    memset(&t, 0, sizeof(t));
    if (asr_wav_read(path, &info, &x, &st) != ASR_OK)
        goto done;
    if (info.n_frames == 0) {
        snprintf(st.message, sizeof(st.message), "%s: the file holds no samples", path);
        goto done;
    }
    if (asr_rstream_create(rec, info.sample_rate, 0, &s, &st) != ASR_OK)
        goto done;
    for (i = 0; i < info.n_frames; i += CHUNK) {
        size_t k = info.n_frames - i < CHUNK ? info.n_frames - i : CHUNK;
        if (asr_rstream_accept_f32(s, x + i, k, &n, &st) != ASR_OK)
            goto done;
        for (j = 0; j < n; j++)
            if (add_final(&t, s, j, &st))
                goto done;
    }
    if (asr_rstream_finish(s, &n, &st) != ASR_OK)
        goto done;
    for (j = 0; j < n; j++)
        if (add_final(&t, s, j, &st))
            goto done;
    ok = 1;
    if (o->json)
        print_json(path, &t, (double)info.n_frames / info.sample_rate, now_s() - t0, o->precision);
    else if (several)
        printf("%s\t%s\n", path, t.text ? t.text : "");
    else
        printf("%s\n", t.text ? t.text : "");
done:
    if (!ok)
        fprintf(stderr, "asr_decode: %s\n", st.message[0] ? st.message : "out of memory");
    transcript_free(&t);
    asr_rstream_free(s);
    asr_wav_free(x);
    return ok ? 0 : -1;
}

static void free_lines(char **lines, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

/* The lines of a text file (without their line ends); 0 on success. */
static int read_lines(const char *path, char ***lines, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t cap = 0;
    *lines = NULL;
    *n = 0;
    if (!f)
        return -1;
    while (fgets(buf, sizeof(buf), f)) {
        size_t k = strcspn(buf, "\r\n");
        char **grown;
        buf[k] = '\0';
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            if (!(grown = realloc(*lines, cap * sizeof(char *))))
                break;
            *lines = grown;
        }
        if (!((*lines)[*n] = malloc(k + 1)))
            break;
        memcpy((*lines)[(*n)++], buf, k + 1);
    }
    if (ferror(f) || !feof(f)) {
        fclose(f);
        free_lines(*lines, *n);
        *lines = NULL;
        *n = 0;
        return -1;
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    options o = {0, NULL, "int8", NULL, NULL, NULL, NULL, 0, ASR_KERNEL_AUTO, ASR_FE_AUTO};
    asr_recognizer_files files;
    char **phrases = NULL;
    size_t n_phrases = 0;
    char model[4096], lexicon[4096], lm[4096];
    asr_recognizer *rec = NULL;
    asr_status st = {0, ""};
    int i, first = argc, failed = 0;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--json"))
            o.json = 1;
        else if (!strcmp(a, "--no-lm"))
            o.no_lm = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (has_value && !strcmp(a, "--models"))
            o.models = argv[++i];
        else if (has_value && !strcmp(a, "--precision"))
            o.precision = argv[++i];
        else if (has_value && !strcmp(a, "--model"))
            o.model = argv[++i];
        else if (has_value && !strcmp(a, "--lexicon"))
            o.lexicon = argv[++i];
        else if (has_value && !strcmp(a, "--lm"))
            o.lm = argv[++i];
        else if (has_value && !strcmp(a, "--phrases"))
            o.phrases = argv[++i];
        else if (has_value && !strcmp(a, "--kernel")) {
            if ((o.kernel = kernel_of(argv[++i])) == -2) {
                fprintf(stderr, "asr_decode: unknown kernel %s\n", argv[i]);
                return 2;
            }
        } else if (has_value && !strcmp(a, "--frontend")) {
            const char *f = argv[++i];
            if (!strcmp(f, "auto"))
                o.frontend = ASR_FE_AUTO;
            else if (!strcmp(f, "int"))
                o.frontend = ASR_FE_INT;
            else if (!strcmp(f, "float"))
                o.frontend = ASR_FE_FLOAT;
            else {
                fprintf(stderr, "asr_decode: unknown frontend %s (auto, int or float)\n", f);
                return 2;
            }
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "asr_decode: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else {
            first = i;
            break;
        }
    }
    if (first >= argc || strcmp(o.precision, "int8") * strcmp(o.precision, "int16")
                             * strcmp(o.precision, "float") != 0) {
        usage(stderr);
        return 2;
    }
    if (!o.models)
        o.models = getenv("ASR_MODEL_DIR") ? getenv("ASR_MODEL_DIR") : "models";
    snprintf(model, sizeof(model), "%s/en-us-%s.asrm", o.models, o.precision);
    snprintf(lexicon, sizeof(lexicon), "%s/en-us.asrlex", o.models);
    snprintf(lm, sizeof(lm), "%s/en-us.asrlm", o.models);
    asr_recognizer_files_init(&files);
    files.model = o.model ? o.model : model;
    files.lexicon = o.lexicon ? o.lexicon : lexicon;
    files.lm = o.no_lm || o.phrases ? NULL : o.lm ? o.lm : lm;
    files.kernel = o.kernel;
    files.frontend = o.frontend;
    if (o.phrases && read_lines(o.phrases, &phrases, &n_phrases)) {
        fprintf(stderr, "asr_decode: cannot read phrases from %s\n", o.phrases);
        return 1;
    }
    files.phrases = (const char *const *)phrases;
    files.n_phrases = n_phrases;
    if (asr_recognizer_open(&files, &rec, &st) != ASR_OK) {
        fprintf(stderr, "asr_decode: %s\n", st.message);
        free_lines(phrases, n_phrases);
        return 1;
    }
    free_lines(phrases, n_phrases);
    for (i = first; i < argc; i++)
        if (decode_file(rec, argv[i], &o, argc - first > 1))
            failed = 1;
    asr_recognizer_free(rec);
    return failed;
}

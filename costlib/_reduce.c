/* costlib._reduce: a detailed bill's CSV text summed per key in one pass, in C.
 *
 * A Reducer is told the role of every column (a key, the record type, the record id, a number
 * to check, the cost, a date) and is fed pieces of the text that end at a line end, as
 * costlib.parsing's reader thread cuts them. A first pass marks each piece's structure 64 bytes
 * at a time (the field ends outside quotes, the quotes that are neither at a field's start nor
 * at its end, UTF-8); a second walks the rows: it reads the cost as exact integer units of 1e-10
 * dollars from its digits and the dates from their fixed offsets, checks every number and date
 * column, and adds the cost and a count to the row's key in a hash table; total rows are copied
 * whole, rows lasting over an hour kept one by one, each thing with where it was in the file.
 * The GIL is released while a piece is read: two threads may read pieces at once, each into a
 * Work of its own (feed's `work`), naming each piece's place in the file (`number`); sums()
 * puts the two Works' sums together in file order.
 *
 * It accepts only what it can prove well formed; on anything else (a byte that is not UTF-8, a
 * NUL, a quote inside an unquoted value or a line end inside a quoted one, a number or date not
 * written plainly, a date outside 1970-2199, an unknown record type, a line too long, a sum past
 * int64, ...) feed() returns the reason as a string and the caller reads the file through the
 * one parser instead, which gives the answer or the canonical error. Meaning lives there; this is
 * only a faster way to the same sums. Once it has refused, every later feed() and sums() returns
 * the same reason (the rows before the refused one were summed already); a feed into a Work that
 * another thread is reading into (without the GIL), or sums() meanwhile, raises RuntimeError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum {
    KEY = 1,     /* part of the key (text, or a date when DATE too) */
    RTYPE = 2,   /* the record type */
    RID = 4,     /* the record id (a CloudCheckr copy writes "AWS") */
    NUM = 8,     /* a number column: blank or a plain finite number */
    COST = 16,   /* the cost summed: a plain number with at most 10 decimals */
    DATE = 32,   /* a date column: blank or YYYY-MM-DD HH:MM:SS, 1970-2199 */
    START = 64,  /* UsageStartDate */
    END = 128,   /* UsageEndDate */
};

#define NAT INT64_MIN
#define HOUR_NS 3600000000000LL
#define MAX_TYPES 32
#define FIRST_YEAR 1970
#define END_YEAR 2200
#define MONTHS ((END_YEAR - FIRST_YEAR) * 12)

typedef struct {
    char *data;
    size_t size, cap;
} Bytes;

static int bytes_reserve(Bytes *b, size_t more) {
    if (b->size + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->size + more) cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static int bytes_add(Bytes *b, const void *src, size_t n) {
    if (bytes_reserve(b, n)) return -1;
    memcpy(b->data + b->size, src, n);
    b->size += n;
    return 0;
}

/* An array that doubles as it fills, grown for one more item when full (``*cap`` then
 * updated); NULL when memory runs out, the array left as it was. */
static void *room_for_one(void *items, size_t n, size_t *cap, size_t first, size_t size) {
    if (n < *cap) return items;
    size_t more = *cap ? *cap * 2 : first;
    void *grown = realloc(items, more * size);
    if (grown) *cap = more;
    return grown;
}

typedef struct {
    uint64_t hash;
    size_t key, length; /* the key's bytes in the arena */
    int64_t sum, count;
    uint64_t first;     /* where the key first appears (see Seen.base) */
} Entry;

typedef struct {
    size_t key, length;
    int64_t units;
    uint64_t pos;
} Single;

typedef struct {
    uint64_t pos;
    size_t line, length; /* in Work.controls */
} Control;

/* A date read before: its 19 characters (as bytes 0-7, 8-15 and 11-18) and what they mean. A
 * month of hourly rows has some 750 distinct dates, in no order: a direct-mapped table of the
 * ones read lately spares parsing each again. */
#define DATE_SLOTS 4096
typedef struct {
    uint64_t text[3];
    int64_t ns;
    int month;
} DateSeen;

/* What one reading thread holds: the set-up (shared between the threads), its sums, its rows
 * kept whole or one by one, and its scratch space. */
typedef struct {
    int columns;
    unsigned char *roles;
    int *active, n_active;           /* the columns with a role */
    DateSeen *dates;                 /* dates read lately, by their text (DATE_SLOTS) */
    const char *piece_end;
    int types;                       /* known record types */
    char *type_names[MAX_TYPES];
    size_t type_lengths[MAX_TYPES];
    unsigned char type_control[MAX_TYPES];
    int64_t type_seen[MAX_TYPES];
    Py_ssize_t limit;                /* the longest line, in bytes */
    /* the sums: entries in the order their keys first appear, a table of their numbers */
    Entry *entries;
    size_t n_entries, cap_entries;
    uint32_t *slots;                 /* entry number + 1; 0 is empty */
    size_t n_slots;
    Bytes arena;
    Single *singles;
    size_t n_singles, cap_singles;
    Bytes controls;                  /* total rows, whole lines */
    Control *control_lines;
    size_t n_controls, cap_controls;
    Bytes scratch;                   /* one row's key */
    uint64_t *ends_mask, *odd_mask;  /* a piece's marks, 64 bytes a word: field ends, odd quotes */
    uint64_t *lines_mask;            /* and newlines */
    size_t n_marks;
    int any_cr;                      /* the piece holds a carriage return */
    uint32_t *flat;                  /* field ends as offsets, a window at a time */
    /* per row */
    const char **starts, **ends;
    unsigned char *escaped;
} Work;

/* The Python object: two Works, so that two threads can read pieces at once (sums() puts the
 * second's sums into the first's, in file order). */
typedef struct {
    PyObject_HEAD
    Work w[2];
    int merged;
    int ready;          /* set up in full (a failed __init__ leaves it unset) */
    int busy[2];        /* a piece is being read into Work k, without the GIL (set and read with it) */
    const char *failed; /* why a piece or the sums were refused: every later call says it */
    int64_t pieces, rows;
} Reducer;

/* --- finding fields ------------------------------------------------------------------------ */

static unsigned char special[256];

static inline const char *scan_plain(const char *p, const char *end) {
#ifdef __SSE2__
    const __m128i comma = _mm_set1_epi8(','), lf = _mm_set1_epi8('\n'),
                  cr = _mm_set1_epi8('\r'), quote = _mm_set1_epi8('"');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, lf)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, quote)));
        int mask = _mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && !special[(unsigned char)*p]) p++;
    return p;
}

static inline const char *scan_quoted(const char *p, const char *end) {
#ifdef __SSE2__
    const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'), quote = _mm_set1_epi8('"');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
        int mask = _mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && *p != '"' && *p != '\n' && *p != '\r') p++;
    return p;
}

/* --- UTF-8 -------------------------------------------------------------------- */

/* Check the characters from *at until one ends at or past `to` (none may run past `end`);
 * *at is left after the last one. NULL, or why the text is refused. */
static const char *utf8_problem_until(const unsigned char **at, const unsigned char *to,
                                      const unsigned char *end) {
    const unsigned char *p = *at;
    while (p < to) {
        unsigned char c = *p;
        if (c == 0) return "a NUL byte";
        if (c < 0x80) {
            p++;
            continue;
        }
        int n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
        else return "not UTF-8";
        if (end - p <= n) return "not UTF-8";
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80) return "not UTF-8";
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return "not UTF-8";
        p += n + 1;
    }
    *at = p;
    return NULL;
}

/* --- numbers and dates --------------------------------------------------------------------- */

static const int64_t POW10[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL};

/* A plain number: -?D+(.D+)?([eE][+-]?D+)?, no leading zeros before other digits. With
 * `units`, the value in exact units of 1e-10 (refused when it has more than 10 decimals or does
 * not fit int64); without, only checked to be finite. 0 when read, -1 when refused. */
static int parse_number_general(const char *s, const char *e, int64_t *units) {
    int negative = 0;
    if (s < e && *s == '-') { negative = 1; s++; }
    if (s >= e || *s < '0' || *s > '9') return -1;
    if (*s == '0' && s + 1 < e && s[1] >= '0' && s[1] <= '9') return -1;
    uint64_t mantissa = 0;
    int digits = 0, pending = 0, scale = 0; /* value = mantissa * 10^(pending + scale) */
    int fraction = 0, written = 0;
    for (;;) {
        if (s < e && *s >= '0' && *s <= '9') {
            int d = *s - '0';
            if (++written > 100) return -1; /* (finite whatever the exponent) */
            if (fraction) scale--;
            if (d == 0) {
                if (digits) pending++;
            } else if (digits + pending + 1 > 18) {
                if (units) return -1; /* (only checked: the digits need not be kept) */
            } else {
                mantissa = mantissa * (uint64_t)POW10[pending] * 10 + d;
                digits += pending + 1;
                pending = 0;
            }
            s++;
            continue;
        }
        if (s < e && *s == '.' && !fraction) {
            fraction = 1;
            s++;
            if (s >= e || *s < '0' || *s > '9') return -1;
            continue;
        }
        break;
    }
    int exponent = 0;
    if (s < e && (*s == 'e' || *s == 'E')) {
        s++;
        int eneg = 0;
        if (s < e && (*s == '+' || *s == '-')) { eneg = *s == '-'; s++; }
        if (s >= e || *s < '0' || *s > '9') return -1;
        while (s < e && *s >= '0' && *s <= '9') {
            exponent = exponent * 10 + (*s - '0');
            if (exponent > 200) return -1;
            s++;
        }
        if (eneg) exponent = -exponent;
    }
    if (s != e) return -1;
    if (!units) return 0;
    if (!mantissa) { *units = 0; return 0; }
    int power = pending + scale + exponent + 10;
    int64_t value;
    if (power >= 0) {
        if (power > 18) return -1;
        if (__builtin_mul_overflow((int64_t)mantissa, POW10[power], &value)) return -1;
    } else {
        if (-power > 18 || mantissa % (uint64_t)POW10[-power]) return -1; /* past 10 decimals */
        value = (int64_t)(mantissa / (uint64_t)POW10[-power]);
    }
    *units = negative ? -value : value;
    return 0;
}

/* Eight ASCII digits at p as a number (little-endian SWAR, as simdjson reads them), or -1. */
static inline int64_t eight_digits(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    if (((v & 0xF0F0F0F0F0F0F0F0ULL) |
         (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) != 0x3333333333333333ULL)
        return -1;
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    v -= 0x3030303030303030ULL;
    v = v * 10 + (v >> 8);
    v = (((v & 0x000000FF000000FFULL) * 0x000F424000000064ULL) +
         (((v >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >> 32;
    return (int64_t)(uint32_t)v;
}

/* Digits from *q (up to e) appended to *mantissa; *q is left after them. */
static inline void digits_into(const char **q, const char *e, uint64_t *mantissa) {
    const char *p = *q;
    uint64_t m = *mantissa;
    while (e - p >= 8) {
        int64_t eight = eight_digits(p);
        if (eight < 0) break;
        m = m * 100000000ULL + (uint64_t)eight;
        p += 8;
    }
    while (p < e && (unsigned)(*p - '0') < 10) m = m * 10 + (uint64_t)(*p++ - '0');
    *q = p;
    *mantissa = m;
}

static inline int all_digits8(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return ((v & 0xF0F0F0F0F0F0F0F0ULL) |
            (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
           0x3333333333333333ULL;
}

/* Whether s..e is a number parse_number_general takes, sooner on the usual -?D+(.D+)?. */
static inline int check_number(const char *s, const char *e) {
    const char *q = s + (s < e && *s == '-'), *digits = q;
    while (e - q >= 8 && all_digits8(q)) q += 8;
    while (q < e && (unsigned)(*q - '0') < 10) q++;
    int whole = (int)(q - digits);
    if (q < e && *q == '.') {
        const char *from = ++q;
        while (e - q >= 8 && all_digits8(q)) q += 8;
        while (q < e && (unsigned)(*q - '0') < 10) q++;
        if (q == from) return -1;
    }
    if (q != e || !whole || (whole > 1 && *digits == '0') || e - s > 100)
        return parse_number_general(s, e, NULL); /* (which refuses past 100 digits) */
    return 0;
}

/* parse_number_general, sooner on the usual -?D+(.D+)? of at most 18 digits. */
static inline int parse_number(const char *s, const char *e, int64_t *units) {
    const char *q = s;
    int negative = q < e && *q == '-';
    q += negative;
    const char *digits = q;
    uint64_t mantissa = 0;
    digits_into(&q, e, &mantissa);
    int whole = (int)(q - digits), fraction = 0;
    if (q < e && *q == '.') {
        const char *from = ++q;
        digits_into(&q, e, &mantissa);
        fraction = (int)(q - from);
        if (!fraction) return -1;
    }
    if (q != e || !whole || whole + fraction > 18 || (whole > 1 && *digits == '0'))
        return parse_number_general(s, e, units);
    if (!units) return 0;
    int64_t value;
    if (fraction <= 10) {
        if (__builtin_mul_overflow((int64_t)mantissa, POW10[10 - fraction], &value)) return -1;
    } else {
        if (mantissa % (uint64_t)POW10[fraction - 10]) return -1; /* past 10 decimals */
        value = (int64_t)(mantissa / (uint64_t)POW10[fraction - 10]);
    }
    *units = negative ? -value : value;
    return 0;
}

static int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

static inline int two(const char *s) {
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* YYYY-MM-DD HH:MM:SS from 1970 to 2199 as int64 ns; -1 when refused. */
static int parse_date(const char *s, const char *e, int64_t *ns, int *month) {
    if (e - s != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
        s[16] != ':')
        return -1;
    int hi = two(s), lo = two(s + 2), mo = two(s + 5), d = two(s + 8), h = two(s + 11),
        mi = two(s + 14), se = two(s + 17);
    if (hi < 0 || lo < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 ||
        mi > 59 || se < 0 || se > 59)
        return -1;
    int y = hi * 100 + lo;
    if (y < FIRST_YEAR || y >= END_YEAR) return -1;
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > dim[mo - 1] + (mo == 2 && leap)) return -1;
    *ns = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + se;
    *ns *= 1000000000LL;
    *month = (y - FIRST_YEAR) * 12 + mo - 1;
    return 0;
}

/* --- the table ----------------------------------------------------------------------------- */

static inline uint64_t hash_bytes(const unsigned char *p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 29;
    return h;
}

static int table_grow(Work *r) {
    size_t n = r->n_slots ? r->n_slots * 2 : 1024;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < r->n_entries; i++) {
        size_t at = r->entries[i].hash & (n - 1);
        while (slots[at]) at = (at + 1) & (n - 1);
        slots[at] = (uint32_t)(i + 1);
    }
    free(r->slots);
    r->slots = slots;
    r->n_slots = n;
    return 0;
}

/* Add `units` to the sum of the key in r->scratch; NULL, or why not. */
static const char *table_add(Work *r, int64_t units, uint64_t pos) {
    const unsigned char *key = (const unsigned char *)r->scratch.data;
    size_t n = r->scratch.size;
    uint64_t h = hash_bytes(key, n);
    size_t mask = r->n_slots - 1, at = h & mask;
    for (;;) {
        uint32_t slot = r->slots[at];
        if (!slot) break;
        Entry *e = &r->entries[slot - 1];
        if (e->hash == h && e->length == n && !memcmp(r->arena.data + e->key, key, n)) {
            if (__builtin_add_overflow(e->sum, units, &e->sum)) return "a sum past int64";
            e->count++;
            if (pos < e->first) e->first = pos; /* (a piece from earlier in the file, read later) */
            return NULL;
        }
        at = (at + 1) & mask;
    }
    if (r->n_entries >= 0xFFFFFFF0u) return "too many sums";
    Entry *entries = room_for_one(r->entries, r->n_entries, &r->cap_entries, 1024,
                                  sizeof *entries);
    if (!entries) return "out of memory";
    r->entries = entries;
    Entry *e = &r->entries[r->n_entries];
    e->hash = h;
    e->key = r->arena.size;
    e->length = n;
    e->sum = units;
    e->count = 1;
    e->first = pos;
    if (bytes_add(&r->arena, key, n)) return "out of memory";
    r->slots[at] = (uint32_t)++r->n_entries;
    if (r->n_entries * 2 > r->n_slots && table_grow(r)) return "out of memory";
    return NULL;
}

/* Keep a total row whole (its ``n`` bytes and a line end), for the one parser to read. */
static int control_add(Work *r, uint64_t pos, const char *text, size_t n) {
    Control *lines = room_for_one(r->control_lines, r->n_controls, &r->cap_controls, 16,
                                  sizeof *lines);
    if (!lines) return -1;
    r->control_lines = lines;
    lines[r->n_controls++] = (Control){pos, r->controls.size, n + 1};
    return bytes_add(&r->controls, text, n) || bytes_add(&r->controls, "\n", 1);
}

static const char *single_add(Work *r, size_t length, int64_t units, uint64_t pos) {
    Single *singles = room_for_one(r->singles, r->n_singles, &r->cap_singles, 256,
                                   sizeof *singles);
    if (!singles) return "out of memory";
    r->singles = singles;
    Single *s = &r->singles[r->n_singles++];
    s->key = r->arena.size;
    s->length = length;
    s->units = units;
    s->pos = pos;
    if (bytes_add(&r->arena, r->scratch.data, length)) return "out of memory";
    return NULL;
}

/* --- one piece ----------------------------------------------------------------------------- */

typedef struct {
    int64_t rows, min_start, max_start, min_end, max_end;
    int aws;
    int64_t *months; /* charge rows per month of their start, when asked */
    uint64_t base;   /* where this text starts: piece number << 33 | half << 32 (+ its rows) */
} Seen;

static inline int field_is(const char *s, const char *e, const char *word, size_t n) {
    return (size_t)(e - s) == n && !memcmp(s, word, n);
}

/* The text of field i as read (quotes doubled inside a quoted value made single) appended to
 * r->scratch with its length before it. */
static int key_text(Work *r, int i) {
    const char *s = r->starts[i], *e = r->ends[i];
    uint32_t n = (uint32_t)(e - s);
    if (bytes_reserve(&r->scratch, n + 4 + 32)) return -1;
    char *out = r->scratch.data + r->scratch.size + 4;
    if (r->escaped[i]) {
        char *o = out;
        while (s < e) {
            *o++ = *s;
            s += (*s == '"') ? 2 : 1;
        }
        n = (uint32_t)(o - out);
    } else if (n <= 32 && e + 32 <= r->piece_end) { /* (16 bytes at a time, past the end) */
        memcpy(out, s, 16);
        memcpy(out + 16, s + 16, 16);
    } else {
        memcpy(out, s, n);
    }
    memcpy(r->scratch.data + r->scratch.size, &n, 4);
    r->scratch.size += 4 + n;
    return 0;
}

/* One row read the careful way, byte by byte from `p`: its fields into r->starts/ends/escaped,
 * *next set past its line end, *stop to its line end. NULL, or why the row is refused. */
static const char *scan_row(Work *r, const char *p, const char *end, const char **stop,
                            const char **next) {
    const int columns = r->columns;
    for (int i = 0; i < columns; i++) {
        const char *s, *e;
        int escaped = 0;
        if (p < end && *p == '"') {
            s = ++p;
            for (;;) {
                p = scan_quoted(p, end);
                if (p >= end) return "a quoted value cut at the end of a piece";
                if (*p != '"') return "a line end inside a quoted value";
                if (p + 1 < end && p[1] == '"') {
                    escaped = 1;
                    p += 2;
                    continue;
                }
                break;
            }
            e = p++;
            if (p < end && *p != ',' && *p != '\n' && *p != '\r')
                return "text after a closing quote";
        } else {
            s = p;
            p = scan_plain(p, end);
            if (p < end && *p == '"') return "a quote inside an unquoted value";
            e = p;
        }
        r->starts[i] = s;
        r->ends[i] = e;
        r->escaped[i] = (unsigned char)escaped;
        if (i < columns - 1) {
            if (p >= end || *p != ',') return "a line with too few fields";
            p++;
        }
    }
    *stop = p;
    if (p < end) {
        if (*p == ',') return "a line with too many fields";
        if (*p == '\r') {
            if (p + 1 >= end || p[1] != '\n') return "a carriage return without a newline";
            p++;
        }
        p++; /* the newline */
    }
    *next = p;
    return NULL;
}

/* One row whose fields are in r->starts/ends/escaped, from `line` to its line end `stop`:
 * checked, and its cost added to its key (a total row kept whole). NULL, or why not. */
static const char *take_row(Work *r, const char *line, const char *stop, Seen *seen) {
    if (stop - line > r->limit) return "a line too long";
    if (stop == line) return "an empty line";
    seen->rows++;
    const uint64_t pos = seen->base + (uint64_t)seen->rows;
    int type = -1;
    int64_t units = 0;
    int64_t start = NAT, finish = NAT;
    int start_month = -1;
    for (int a = 0; a < r->n_active; a++) {
        int i = r->active[a];
        unsigned char role = r->roles[i];
        if (!(role & (RID | RTYPE))) continue;
        const char *s = r->starts[i], *e = r->ends[i];
        if (role & RID) {
            if (!r->escaped[i] && field_is(s, e, "AWS", 3)) seen->aws = 1;
        }
        if (role & RTYPE) {
            if (r->escaped[i]) return "an unknown record type";
            for (int t = 0; t < r->types; t++)
                if (field_is(s, e, r->type_names[t], r->type_lengths[t])) { type = t; break; }
            if (type < 0) return "an unknown record type";
            r->type_seen[type]++;
        }
    }
    if (type < 0) return "no record type";
    if (r->type_control[type]) { /* a total row: kept whole, read by the one parser */
        if (control_add(r, pos, line, (size_t)(stop - line))) return "out of memory";
        return NULL;
    }
    r->scratch.size = 0;
    for (int a = 0; a < r->n_active; a++) {
        int i = r->active[a];
        unsigned char role = r->roles[i];
        if (!(role & (NUM | COST | DATE | KEY))) continue;
        const char *s = r->starts[i], *e = r->ends[i];
        if (role & (NUM | COST)) {
            if (s == e) {
                if (role & COST) return "a blank cost";
            } else if (r->escaped[i] ||
                       ((role & COST) ? parse_number(s, e, &units) : check_number(s, e))) {
                return "a number not written plainly (or past int64 units)";
            }
        }
        if (role & DATE) {
            int64_t ns = NAT;
            int month = -1;
            if (s == e) {
            } else if (e - s != 19 || r->escaped[i]) {
                return "a date not written plainly";
            } else {
                uint64_t text[3];
                memcpy(&text[0], s, 8);
                memcpy(&text[1], s + 8, 8);
                memcpy(&text[2], s + 11, 8);
                uint64_t h = (text[0] ^ (text[1] * 0x9E3779B97F4A7C15ULL) ^
                              (text[2] * 0xC2B2AE3D27D4EB4FULL));
                DateSeen *seen_date = &r->dates[(h ^ (h >> 29)) & (DATE_SLOTS - 1)];
                if (seen_date->text[0] == text[0] && seen_date->text[1] == text[1] &&
                    seen_date->text[2] == text[2]) {
                    ns = seen_date->ns;
                    month = seen_date->month;
                } else if (parse_date(s, e, &ns, &month)) {
                    return "a date not written plainly";
                } else {
                    memcpy(seen_date->text, text, sizeof text);
                    seen_date->ns = ns;
                    seen_date->month = month;
                }
            }
            if (role & START) { start = ns; start_month = month; }
            if (role & END) finish = ns;
            if (role & KEY) {
                if (bytes_add(&r->scratch, &ns, 8)) return "out of memory";
            }
        } else if (role & KEY) {
            if (key_text(r, i)) return "out of memory";
        }
    }
    if (start != NAT) {
        if (start < seen->min_start) seen->min_start = start;
        if (start > seen->max_start) seen->max_start = start;
        if (seen->months) seen->months[start_month]++;
    }
    if (finish != NAT) {
        if (finish < seen->min_end) seen->min_end = finish;
        if (finish > seen->max_end) seen->max_end = finish;
    }
    if (start != NAT && finish != NAT && finish - start > HOUR_NS)
        return single_add(r, r->scratch.size, units, pos);
    char sign = units < 0;
    if (bytes_add(&r->scratch, &sign, 1)) return "out of memory";
    return table_add(r, units, pos);
}

/* --- the structure of a piece, 64 bytes at a time ---------------------------------------------
 * Pass 1 marks, for each 64 bytes, the field ends (a comma or line end outside quotes, found by
 * a running parity of the quotes) and the quotes that are neither at a field's start nor at its
 * end ("odd": doubled quotes inside a value, or a malformed one); it checks UTF-8 and NULs on
 * the way, and the newlines apart. Pass 2 walks the rows: the quick walk (walk_flat) takes a row
 * as its field ends flattened to offsets, the careful walk (walk) goes field end by field end and
 * takes over where the quick one cannot go on; in both, a row holding an odd quote is read byte
 * by byte (scan_row), which must end it where the marks do. */

/* One 64-byte block's quotes, commas, line ends, and bytes that are not plain ASCII (NUL or
 * past 0x7F: those blocks are checked one character at a time). */
typedef struct {
    uint64_t quotes, commas, lines, cr, unusual; /* (lines: the newlines) */
} Block;

#define BLOCK_SSE2(b, out)                                                                    \
    do {                                                                                      \
        const __m128i q_ = _mm_set1_epi8('"'), c_ = _mm_set1_epi8(','),                       \
                      l_ = _mm_set1_epi8('\n'), r_ = _mm_set1_epi8('\r'),                     \
                      z_ = _mm_setzero_si128();                                               \
        (out).quotes = (out).commas = (out).lines = (out).cr = (out).unusual = 0;             \
        for (int k_ = 0; k_ < 4; k_++) {                                                      \
            __m128i v_ = _mm_loadu_si128((const __m128i *)((b) + 16 * k_));                   \
            int sh_ = 16 * k_;                                                                \
            (out).quotes |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v_, q_)) << sh_; \
            (out).commas |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v_, c_)) << sh_; \
            (out).lines |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v_, l_)) << sh_; \
            (out).cr |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v_, r_)) << sh_;   \
            (out).unusual |= (uint64_t)(uint16_t)_mm_movemask_epi8(                           \
                _mm_or_si128(v_, _mm_cmpeq_epi8(v_, z_))) << sh_;                             \
        }                                                                                     \
    } while (0)

static inline void block_portable(const unsigned char *b, Block *out) {
#ifdef __SSE2__
    BLOCK_SSE2(b, *out);
#else
    out->quotes = out->commas = out->lines = out->cr = out->unusual = 0;
    for (int k = 0; k < 64; k++) {
        out->quotes |= (uint64_t)(b[k] == '"') << k;
        out->commas |= (uint64_t)(b[k] == ',') << k;
        out->lines |= (uint64_t)(b[k] == '\n') << k;
        out->cr |= (uint64_t)(b[k] == '\r') << k;
        out->unusual |= (uint64_t)(b[k] == 0 || b[k] >= 0x80) << k;
    }
#endif
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
__attribute__((target("avx2"))) static inline void block_avx2(const unsigned char *b,
                                                              Block *out) {
    const __m256i q = _mm256_set1_epi8('"'), c = _mm256_set1_epi8(','),
                  l = _mm256_set1_epi8('\n'), r = _mm256_set1_epi8('\r'),
                  z = _mm256_setzero_si256();
    __m256i lo = _mm256_loadu_si256((const __m256i *)b);
    __m256i hi = _mm256_loadu_si256((const __m256i *)(b + 32));
#define M_(x) ((uint64_t)(uint32_t)_mm256_movemask_epi8(x))
    out->quotes = M_(_mm256_cmpeq_epi8(lo, q)) | M_(_mm256_cmpeq_epi8(hi, q)) << 32;
    out->commas = M_(_mm256_cmpeq_epi8(lo, c)) | M_(_mm256_cmpeq_epi8(hi, c)) << 32;
    out->lines = M_(_mm256_cmpeq_epi8(lo, l)) | M_(_mm256_cmpeq_epi8(hi, l)) << 32;
    out->cr = M_(_mm256_cmpeq_epi8(lo, r)) | M_(_mm256_cmpeq_epi8(hi, r)) << 32;
    out->unusual = M_(_mm256_or_si256(lo, _mm256_cmpeq_epi8(lo, z))) |
                   M_(_mm256_or_si256(hi, _mm256_cmpeq_epi8(hi, z))) << 32;
#undef M_
}
#endif

static inline uint64_t prefix_xor(uint64_t x) {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

static int marks_reserve(Work *r, size_t words) {
    if (words <= r->n_marks) return 0;
    uint64_t *ends = realloc(r->ends_mask, words * sizeof *ends);
    if (!ends) return -1;
    r->ends_mask = ends;
    uint64_t *odd = realloc(r->odd_mask, words * sizeof *odd);
    if (!odd) return -1;
    r->odd_mask = odd;
    uint64_t *lines = realloc(r->lines_mask, words * sizeof *lines);
    if (!lines) return -1;
    r->lines_mask = lines;
    r->n_marks = words;
    return 0;
}

/* Pass 1 over a piece: r->ends_mask and r->odd_mask. */
#define MARK_LOOP(BLOCK)                                                                      \
    uint64_t inside = 0; /* all ones while within quotes */                                   \
    const unsigned char *checked = p; /* UTF-8 checked up to here */                          \
    unsigned char last[64];                                                                   \
    for (size_t w = 0; w < words; w++) {                                                      \
        const unsigned char *b = p + 64 * w;                                                  \
        size_t here = n - 64 * w < 64 ? n - 64 * w : 64;                                      \
        if (here < 64) {                                                                      \
            memset(last, 'x', sizeof last);                                                   \
            memcpy(last, b, here);                                                            \
            b = last;                                                                         \
        }                                                                                     \
        Block k;                                                                              \
        BLOCK(b, &k);                                                                         \
        if (k.unusual) {                                                                      \
            const unsigned char *from = p + 64 * w > checked ? p + 64 * w : checked;          \
            const char *problem = utf8_problem_until(&from, p + 64 * w + here, p + n);        \
            if (problem) return problem;                                                      \
            checked = from;                                                                   \
        }                                                                                     \
        uint64_t within = PREFIX_XOR(k.quotes) ^ inside;                                      \
        inside = (uint64_t)((int64_t)within >> 63);                                           \
        if ((k.lines | k.cr) & within) return "a line end inside a quoted value";             \
        r->ends_mask[w] = (k.commas | k.lines | k.cr) & ~within;                              \
        r->lines_mask[w] = k.lines; /* (none within quotes: refused above) */                 \
        r->odd_mask[w] = k.quotes;                                                            \
        r->any_cr |= k.cr != 0;                                                               \
    }                                                                                         \
    if (inside) return "a quoted value cut at the end of a piece";                            \
    return NULL;

#define PREFIX_XOR prefix_xor
static const char *mark_portable(Work *r, const unsigned char *p, size_t n, size_t words) {
    MARK_LOOP(block_portable)
}
#undef PREFIX_XOR

#ifdef HAVE_AVX2_PATH
/* The running xor of the bits, by a carry-less multiplication by all ones. */
__attribute__((target("pclmul"))) static inline uint64_t prefix_xor_clmul(uint64_t x) {
    return (uint64_t)_mm_cvtsi128_si64(
        _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), _mm_set1_epi8((char)0xFF), 0));
}

#define PREFIX_XOR prefix_xor_clmul
__attribute__((target("avx2,pclmul"))) static const char *mark_avx2(Work *r,
                                                                    const unsigned char *p,
                                                                    size_t n, size_t words) {
    MARK_LOOP(block_avx2)
}
#undef PREFIX_XOR
#endif

static int use_avx2;

static const char *mark(Work *r, const unsigned char *p, size_t n, size_t words) {
#ifdef HAVE_AVX2_PATH
    r->any_cr = 0;
    const char *problem = use_avx2 ? mark_avx2(r, p, n, words)
                                   : mark_portable(r, p, n, words);
#else
    const char *problem = mark_portable(r, p, n, words);
#endif
    if (problem) return problem;
    /* a quote is odd unless a field ends just before it (or the piece starts) or just after it
       (or the piece ends) */
    for (size_t w = 0; w < words; w++) {
        uint64_t e = r->ends_mask[w];
        uint64_t before = (e << 1) | (w ? r->ends_mask[w - 1] >> 63 : 1);
        uint64_t after = (e >> 1) | (w + 1 < words ? r->ends_mask[w + 1] << 63 : 0);
        if (w == (n - 1) / 64) after |= 1ULL << ((n - 1) % 64);
        r->odd_mask[w] &= ~(before | after);
    }
    return NULL;
}

/* The first byte marked in `mask` (an odd quote, a newline) at or after `from`, or `n`. */
static inline size_t next_mark(const uint64_t *mask, size_t from, size_t n, size_t words) {
    size_t w = from / 64;
    if (w >= words) return n;
    uint64_t m = mask[w] & (~0ULL << (from % 64));
    while (!m) {
        if (++w >= words) return n;
        m = mask[w];
    }
    return 64 * w + __builtin_ctzll(m);
}

/* Field i of a row is s..e as pass 1 marked it, its quotes taken off when it is "quoted"; 1 when
 * it opens with a quote it does not end with (the row holds an odd quote and is read byte by byte,
 * or else another thread wrote into the buffer since pass 1: not taken, e would fall before s). */
static inline int take_field(Work *r, int i, const char *s, const char *e) {
    int torn = 0;
    if (s < e && *s == '"') {
        if (e - s >= 2 && e[-1] == '"') {
            s++;
            e--;
        } else {
            torn = 1;
        }
    }
    r->starts[i] = s;
    r->ends[i] = e;
    r->escaped[i] = 0;
    return torn;
}

/* The row from `line` to its line end `at` holds an odd quote: read it byte by byte (scan_row),
 * which must end it where the marks do; *odd moves to the next odd quote from `next` on. NULL, or
 * why the row is refused. */
static const char *odd_row(Work *r, const char *text, size_t n, size_t words, size_t line,
                           size_t at, size_t next, size_t *odd) {
    const char *stop, *after;
    const char *problem = scan_row(r, text + line, text + n, &stop, &after);
    if (problem) return problem;
    if (stop != text + at) return "a row read two ways";
    *odd = next_mark(r->odd_mask, next, n, words);
    return NULL;
}

/* The rows of a piece from byte `line` (where a row starts) on, field end by field end as pass 1
 * marked them: the careful walk, which takes any piece (a row holding an odd quote is read byte
 * by byte, a carriage return before a newline is taken) and says what is wrong with it. */
static const char *walk(Work *r, const char *text, size_t n, size_t words, size_t line,
                        Seen *seen) {
    const int columns = r->columns;
    const char *problem;
    size_t odd = next_mark(r->odd_mask, line, n, words);
    size_t field = line; /* where the field starts */
    int i = 0;           /* the field */
    int torn = 0;        /* a value opens with a quote it does not end with */
    size_t w = line / 64;
    uint64_t m = w < words ? r->ends_mask[w] & (~0ULL << (line % 64)) : 0;
    for (;;) {
        size_t at;
        while (!m && ++w < words) m = r->ends_mask[w];
        if (w >= words) {
            if (line == n) break; /* the piece ends with a line end */
            at = n;               /* the file's last line, without a line end */
        } else {
            at = 64 * w + __builtin_ctzll(m);
            m &= m - 1;
        }
        char c = at < n ? text[at] : '\n';
        if (r->roles[i]) torn |= take_field(r, i, text + field, text + at);
        if (c == ',') {
            if (i >= columns - 1) return "a line with too many fields";
        } else if (i != columns - 1) {
            return "a line with too few fields";
        }
        field = at + 1;
        if (c == ',') {
            i++;
            continue;
        }
        /* a line end */
        size_t next = at + 1;
        if (c == '\r') {
            if (at + 1 >= n || text[at + 1] != '\n') return "a carriage return without a newline";
            next = at + 2;
            m &= m - 1; /* (the newline's mark) */
            if (!m && w + 1 < words && (at + 1) / 64 > w) {
                w++;
                m = r->ends_mask[w] & (r->ends_mask[w] - 1);
            }
        }
        if (odd < at) { /* (a row without odd quotes holds only plain and "quoted" values) */
            problem = odd_row(r, text, n, words, line, at, next, &odd);
            if (problem) return problem;
        } else if (torn) {
            return "a row read two ways";
        }
        problem = take_row(r, text + line, text + at, seen);
        if (problem) return problem;
        line = field = next;
        i = torn = 0;
        if (at >= n) break;
    }
    return NULL;
}

/* The offsets of the set bits of `bits` (the word at byte `base`) written at out[count], the new
 * count returned; it may write up to 64 entries, garbage past the count. */
static inline __attribute__((always_inline)) size_t flatten(uint32_t *out, size_t count,
                                                            size_t base, uint64_t bits) {
    uint32_t *o = out + count;
    const int many = __builtin_popcountll(bits);
    for (int j = 0; j < 4; j++) { /* (no branch for the usual few) */
        o[j] = (uint32_t)(base + __builtin_ctzll(bits | (1ULL << 63)));
        bits &= bits - 1;
    }
    for (int j = 4; j < many; j++) {
        o[j] = (uint32_t)(base + __builtin_ctzll(bits));
        bits &= bits - 1;
    }
    return count + (size_t)many;
}

/* Field ends flattened to offsets at once, a window at a time. */
#define FLAT_ROOM 8192

/* The rows of a piece from its start, the quick way: the marks flattened to offsets, a row is
 * its `columns` field ends, the last of them the next newline, and only the fields with a role
 * are looked at (a row holding an odd quote is read byte by byte, as the careful walk does). It
 * stops at the start of the first row it cannot take that way (a wrong number of fields, a value
 * that opens with a quote it does not end with, the file's last line without a newline), with
 * *resume set there, for the careful walk to go on and say what is wrong. */
static inline __attribute__((always_inline)) const char *walk_flat_body(
    Work *r, const char *text, size_t n, size_t words, Seen *seen, size_t *resume) {
    const int columns = r->columns, *active = r->active, n_active = r->n_active;
    uint32_t *flat = r->flat;
    size_t count = 0, k = 0; /* offsets flattened, and taken */
    size_t w = 0;            /* the next word to flatten */
    size_t line = 0, odd = next_mark(r->odd_mask, 0, n, words);
    *resume = 0;
    for (;;) {
        if (count - k < (size_t)columns) {
            memmove(flat, flat + k, (count - k) * sizeof *flat);
            count -= k;
            k = 0;
            while (w < words && count + 64 <= FLAT_ROOM) {
                count = flatten(flat, count, 64 * w, r->ends_mask[w]);
                w++;
            }
            if (count < (size_t)columns) break;
        }
        /* (the row's last field end is the first newline after its start: no fewer fields,
           no more) */
        const size_t at = flat[k + columns - 1];
        if (at != next_mark(r->lines_mask, line, n, words)) break;
        const char *problem;
        if (odd < at) {
            problem = odd_row(r, text, n, words, line, at, at + 1, &odd);
            if (problem) return problem;
        } else {
            for (int a = 0; a < n_active; a++) {
                const int i = active[a];
                if (take_field(r, i, text + (i ? flat[k + i - 1] + 1 : line), text + flat[k + i]))
                    goto careful;
            }
        }
        problem = take_row(r, text + line, text + at, seen);
        if (problem) return problem;
        line = at + 1;
        k += (size_t)columns;
    }
careful:
    *resume = line;
    return NULL;
}

static const char *walk_flat_portable(Work *r, const char *text, size_t n, size_t words,
                                      Seen *seen, size_t *resume) {
    return walk_flat_body(r, text, n, words, seen, resume);
}

#ifdef HAVE_AVX2_PATH
__attribute__((target("avx2,bmi,popcnt"))) static const char *walk_flat_avx2(
    Work *r, const char *text, size_t n, size_t words, Seen *seen, size_t *resume) {
    return walk_flat_body(r, text, n, words, seen, resume);
}
#endif

static const char *feed_piece(Work *r, const char *text, const char *end, Seen *seen) {
    const size_t n = (size_t)(end - text);
    if (!n) return NULL;
    r->piece_end = end;
    const size_t words = (n + 63) / 64;
    if (marks_reserve(r, words)) return "out of memory";
    const char *problem = mark(r, (const unsigned char *)text, n, words);
    if (problem) return problem;
    size_t line = 0;
    if (!r->any_cr && n < UINT32_MAX && r->columns + 64 <= FLAT_ROOM) {
#ifdef HAVE_AVX2_PATH
        problem = use_avx2 ? walk_flat_avx2(r, text, n, words, seen, &line)
                           : walk_flat_portable(r, text, n, words, seen, &line);
#else
        problem = walk_flat_portable(r, text, n, words, seen, &line);
#endif
        if (problem) return problem;
    }
    return walk(r, text, n, words, line, seen);
}

/* --- Python -------------------------------------------------------------------------------- */

/* Free what a Work holds (its set-up too when it `owns` it). */
static void work_free(Work *w, int owns) {
    if (owns) {
        for (int t = 0; t < w->types; t++) free(w->type_names[t]);
        free(w->roles);
        free(w->active);
    }
    free(w->entries);
    free(w->slots);
    free(w->arena.data);
    free(w->singles);
    free(w->controls.data);
    free(w->control_lines);
    free(w->scratch.data);
    free(w->starts);
    free(w->ends);
    free(w->escaped);
    free(w->dates);
    free(w->ends_mask);
    free(w->odd_mask);
    free(w->lines_mask);
    free(w->flat);
}

static void Reducer_dealloc(Reducer *r) {
    work_free(&r->w[0], 1);
    work_free(&r->w[1], 0);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

/* A Work's own scratch space and table, for `columns` columns. */
static int work_space(Work *w, int columns) {
    w->starts = calloc(columns, sizeof *w->starts);
    w->ends = calloc(columns, sizeof *w->ends);
    w->escaped = calloc(columns, 1);
    w->dates = calloc(DATE_SLOTS, sizeof *w->dates); /* (no date is eight NUL bytes) */
    w->flat = malloc(FLAT_ROOM * sizeof *w->flat);
    if (!w->starts || !w->ends || !w->escaped || !w->dates || !w->flat || table_grow(w))
        return -1;
    return 0;
}

static int Reducer_init(Reducer *r, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"roles", "types", "limit", NULL};
    PyObject *roles, *types;
    Py_ssize_t limit;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOn", names, &roles, &types, &limit))
        return -1;
    Work *w = &r->w[0];
    if (w->roles) {
        PyErr_SetString(PyExc_RuntimeError, "a Reducer is set up once");
        return -1;
    }
    PyObject *role_list = PySequence_Fast(roles, "roles: a sequence of ints");
    if (!role_list) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(role_list);
    if (n < 1) {
        Py_DECREF(role_list);
        PyErr_SetString(PyExc_ValueError, "roles: at least one column");
        return -1;
    }
    w->columns = (int)n;
    w->roles = calloc(n, 1);
    w->active = calloc(n, sizeof *w->active);
    if (!w->roles || !w->active || work_space(w, (int)n)) {
        Py_DECREF(role_list);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long role = PyLong_AsLong(PySequence_Fast_GET_ITEM(role_list, i));
        if (role == -1 && PyErr_Occurred()) {
            Py_DECREF(role_list);
            return -1;
        }
        w->roles[i] = (unsigned char)role;
        if (role) w->active[w->n_active++] = (int)i;
    }
    Py_DECREF(role_list);
    PyObject *type_list = PySequence_Fast(types, "types: a sequence of (bytes, bool)");
    if (!type_list) return -1;
    if (PySequence_Fast_GET_SIZE(type_list) > MAX_TYPES) {
        Py_DECREF(type_list);
        PyErr_SetString(PyExc_ValueError, "types: too many");
        return -1;
    }
    for (Py_ssize_t t = 0; t < PySequence_Fast_GET_SIZE(type_list); t++) {
        const char *name;
        Py_ssize_t length;
        int control;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(type_list, t), "y#p", &name, &length,
                              &control)) {
            Py_DECREF(type_list);
            return -1;
        }
        w->type_names[t] = malloc(length + 1);
        if (!w->type_names[t]) {
            Py_DECREF(type_list);
            PyErr_NoMemory();
            return -1;
        }
        memcpy(w->type_names[t], name, length);
        w->type_lengths[t] = (size_t)length;
        w->type_control[t] = (unsigned char)control;
        w->types = (int)t + 1;
    }
    Py_DECREF(type_list);
    /* (a value's length is kept in 32 bits, digits counted in an int: a longer line is left
       to the one parser) */
    w->limit = limit < INT32_MAX ? limit : INT32_MAX;
    /* the second Work shares the set-up */
    Work *v = &r->w[1];
    v->columns = w->columns;
    v->roles = w->roles;
    v->active = w->active;
    v->n_active = w->n_active;
    v->types = w->types;
    memcpy(v->type_names, w->type_names, sizeof w->type_names);
    memcpy(v->type_lengths, w->type_lengths, sizeof w->type_lengths);
    memcpy(v->type_control, w->type_control, sizeof w->type_control);
    v->limit = w->limit;
    if (work_space(v, (int)n)) {
        PyErr_NoMemory();
        return -1;
    }
    r->ready = 1;
    return 0;
}

/* Whether the Reducer may be used now, for Work `work` (-1: both), else a RuntimeError is set. */
static int usable(Reducer *r, int work) {
    if (!r->ready) {
        PyErr_SetString(PyExc_RuntimeError, "the Reducer is not set up");
        return 0;
    }
    if (work < 0 ? r->busy[0] || r->busy[1] : r->busy[work]) {
        PyErr_SetString(PyExc_RuntimeError, "the Reducer is reading a piece on another thread");
        return 0;
    }
    return 1;
}

static PyObject *Reducer_feed(Reducer *r, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"piece", "months", "number", "work", NULL};
    Py_buffer view;
    int months = 0, work = 0;
    long long number = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|pLi", names, &view, &months, &number,
                                     &work))
        return NULL;
    const char *refused = work != 0 && work != 1 ? "work is 0 or 1"
                          : r->merged ? "the sums are out: nothing more can be fed" : NULL;
    if (refused) PyErr_SetString(PyExc_RuntimeError, refused);
    if (refused || !usable(r, work)) {
        PyBuffer_Release(&view);
        return NULL;
    }
    if (number < 0) number = r->pieces;
    if (number + 1 > r->pieces) r->pieces = number + 1;
    if (!r->failed && (uint64_t)view.len >= 1ULL << 33) r->failed = "a piece too large";
    if (!r->failed && number >= 1LL << 30) r->failed = "too many pieces";
    if (r->failed) { /* (rows before it were summed already: nothing more is) */
        PyBuffer_Release(&view);
        return PyUnicode_FromString(r->failed);
    }
    /* (rows and pieces counted within a position stay apart: a row takes two bytes or more) */
    Seen seen = {0, INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN, 0, NULL, (uint64_t)number << 33};
    if (months && !(seen.months = calloc(MONTHS, sizeof *seen.months))) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    const char *problem;
    r->busy[work] = 1; /* (other threads may call in while the GIL is released) */
    Py_BEGIN_ALLOW_THREADS
    problem = feed_piece(&r->w[work], view.buf, (const char *)view.buf + view.len, &seen);
    Py_END_ALLOW_THREADS
    r->busy[work] = 0;
    PyBuffer_Release(&view);
    PyObject *out = NULL;
    if (problem) {
        if (!r->failed) r->failed = problem;
        out = PyUnicode_FromString(r->failed);
    } else if (r->failed) { /* (the other thread refused a piece meanwhile) */
        out = PyUnicode_FromString(r->failed);
    } else {
        r->rows += seen.rows;
        PyObject *counts = PyDict_New();
        for (int m = 0; counts && seen.months && m < MONTHS; m++) {
            if (!seen.months[m]) continue;
            PyObject *k = PyLong_FromLong(m), *v = PyLong_FromLongLong(seen.months[m]);
            if (!k || !v || PyDict_SetItem(counts, k, v)) Py_CLEAR(counts);
            Py_XDECREF(k);
            Py_XDECREF(v);
        }
        if (counts) {
            out = Py_BuildValue("{s:L,s:O,s:L,s:L,s:L,s:L,s:N}", "rows", seen.rows, "aws",
                                seen.aws ? Py_True : Py_False, "min_start", seen.min_start,
                                "max_start", seen.max_start, "min_end", seen.min_end,
                                "max_end", seen.max_end, "months", counts);
        }
    }
    free(seen.months);
    return out;
}

/* The key's values, one per KEY column: str for text, int (ns, or None when blank) for dates. */
static PyObject *key_values(Work *r, const char *p) {
    int keys = 0;
    for (int i = 0; i < r->columns; i++) keys += (r->roles[i] & KEY) != 0;
    PyObject *out = PyTuple_New(keys);
    if (!out) return NULL;
    for (int i = 0, k = 0; i < r->columns; i++) {
        if (!(r->roles[i] & KEY)) continue;
        PyObject *value;
        if (r->roles[i] & DATE) {
            int64_t ns;
            memcpy(&ns, p, 8);
            p += 8;
            value = PyLong_FromLongLong(ns);
        } else {
            uint32_t n;
            memcpy(&n, p, 4);
            value = PyUnicode_DecodeUTF8(p + 4, n, "strict");
            p += 4 + n;
        }
        if (!value) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, k++, value);
    }
    return out;
}

/* The second Work's sums, rows and total rows put into the first's; NULL, or why not. */
static const char *merge(Work *w, Work *v) {
    for (size_t i = 0; i < v->n_entries; i++) {
        Entry *e = &v->entries[i];
        w->scratch.size = 0;
        if (bytes_add(&w->scratch, v->arena.data + e->key, e->length)) return "out of memory";
        size_t before = w->n_entries;
        const char *problem = table_add(w, 0, e->first);
        if (problem) return problem;
        Entry *into = NULL;
        if (w->n_entries > before) {
            into = &w->entries[w->n_entries - 1];
            into->count = 0;
        } else {
            /* (found: table_add counted one more row of it) */
            uint64_t h = e->hash;
            size_t mask = w->n_slots - 1, at = h & mask;
            for (;;) {
                Entry *x = &w->entries[w->slots[at] - 1];
                if (x->hash == h && x->length == e->length &&
                    !memcmp(w->arena.data + x->key, v->arena.data + e->key, e->length)) {
                    into = x;
                    break;
                }
                at = (at + 1) & mask;
            }
            into->count--;
            if (e->first < into->first) into->first = e->first;
        }
        if (__builtin_add_overflow(into->sum, e->sum, &into->sum)) return "a sum past int64";
        into->count += e->count;
    }
    for (size_t i = 0; i < v->n_singles; i++) {
        Single *s = &v->singles[i];
        w->scratch.size = 0;
        if (bytes_add(&w->scratch, v->arena.data + s->key, s->length)) return "out of memory";
        const char *problem = single_add(w, s->length, s->units, s->pos);
        if (problem) return problem;
    }
    for (size_t i = 0; i < v->n_controls; i++) {
        Control *c = &v->control_lines[i];
        if (control_add(w, c->pos, v->controls.data + c->line, c->length - 1))
            return "out of memory";
    }
    for (int t = 0; t < w->types; t++) w->type_seen[t] += v->type_seen[t];
    return NULL;
}

static int by_first(const void *a, const void *b) {
    uint64_t x = (*(Entry *const *)a)->first, y = (*(Entry *const *)b)->first;
    return (x > y) - (x < y);
}

static int by_pos(const void *a, const void *b) {
    uint64_t x = ((const Single *)a)->pos, y = ((const Single *)b)->pos;
    return (x > y) - (x < y);
}

static int by_line(const void *a, const void *b) {
    uint64_t x = ((const Control *)a)->pos, y = ((const Control *)b)->pos;
    return (x > y) - (x < y);
}

static PyObject *Reducer_sums(Reducer *r, PyObject *Py_UNUSED(ignored)) {
    Work *w = &r->w[0];
    if (!usable(r, -1)) return NULL;
    if (!r->failed && !r->merged) {
        r->merged = 1;
        r->failed = merge(w, &r->w[1]);
        /* (qsort wants a pointer even for nothing to sort: none when nothing was kept) */
        if (w->n_singles > 1) qsort(w->singles, w->n_singles, sizeof *w->singles, by_pos);
        if (w->n_controls > 1)
            qsort(w->control_lines, w->n_controls, sizeof *w->control_lines, by_line);
    }
    if (r->failed) return PyUnicode_FromString(r->failed); /* (the sums as they are are wrong) */
    Entry **order = malloc((w->n_entries + 1) * sizeof *order);
    if (!order) return PyErr_NoMemory();
    for (size_t i = 0; i < w->n_entries; i++) order[i] = &w->entries[i];
    qsort(order, w->n_entries, sizeof *order, by_first);
    PyObject *sums = PyList_New(w->n_entries), *singles = PyList_New(w->n_singles);
    PyObject *controls = NULL, *seen = NULL;
    if (!sums || !singles) goto fail;
    for (size_t i = 0; i < w->n_entries; i++) {
        Entry *e = order[i];
        const char *key = w->arena.data + e->key;
        PyObject *values = key_values(w, key);
        if (!values) goto fail;
        PyObject *item = Py_BuildValue("(NiLL)", values, (int)key[e->length - 1], e->sum,
                                       e->count);
        if (!item) goto fail;
        PyList_SET_ITEM(sums, i, item);
    }
    for (size_t i = 0; i < w->n_singles; i++) {
        Single *s = &w->singles[i];
        PyObject *values = key_values(w, w->arena.data + s->key);
        if (!values) goto fail;
        PyObject *item = Py_BuildValue("(NL)", values, s->units);
        if (!item) goto fail;
        PyList_SET_ITEM(singles, i, item);
    }
    controls = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)w->controls.size);
    if (!controls) goto fail;
    char *into = PyBytes_AS_STRING(controls);
    for (size_t i = 0; i < w->n_controls; i++) {
        memcpy(into, w->controls.data + w->control_lines[i].line, w->control_lines[i].length);
        into += w->control_lines[i].length;
    }
    seen = PyList_New(w->types);
    if (!seen) goto fail;
    for (int t = 0; t < w->types; t++) {
        PyObject *count = PyLong_FromLongLong(w->type_seen[t]);
        if (!count) goto fail;
        PyList_SET_ITEM(seen, t, count);
    }
    free(order);
    return Py_BuildValue("{s:N,s:N,s:N,s:N,s:L}", "sums", sums, "singles", singles, "controls",
                         controls, "types", seen, "rows", r->rows);
fail:
    free(order);
    Py_XDECREF(sums);
    Py_XDECREF(singles);
    Py_XDECREF(controls);
    Py_XDECREF(seen);
    return NULL;
}

static PyMethodDef Reducer_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))Reducer_feed, METH_VARARGS | METH_KEYWORDS,
     "feed(piece, months=False, number=-1, work=0): read a piece of text ending at a line "
     "end, the number-th of the file (-1: the one after the last fed), into Work 0 or 1 (two "
     "threads feed two Works at once); a dict of what its charge rows held (rows, aws, min/max "
     "start and end, rows per month of their start when asked), or a str saying why the piece "
     "is not for this reader (and, from then on, every later call). RuntimeError while another "
     "thread's feed() reads into the same Work."},
    {"sums", (PyCFunction)Reducer_sums, METH_NOARGS,
     "sums(): the sums in the order their keys first appeared, the rows kept one by one, the "
     "total rows' lines, the rows of each record type, the rows."},
    {NULL}};

static PyTypeObject ReducerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "costlib._reduce.Reducer",
    .tp_basicsize = sizeof(Reducer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Reducer(roles, types, limit): sums a detailed bill's charge rows per key, on "
              "one thread or two.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Reducer_init,
    .tp_dealloc = (destructor)Reducer_dealloc,
    .tp_methods = Reducer_methods,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "costlib._reduce",
                                    "A detailed bill's charge rows summed per key, in C.", -1,
                                    NULL};

PyMODINIT_FUNC PyInit__reduce(void) {
#ifdef HAVE_AVX2_PATH
    __builtin_cpu_init();
    use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
               __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("pclmul");
#endif
    special[(unsigned char)','] = special[(unsigned char)'\n'] = 1;
    special[(unsigned char)'\r'] = special[(unsigned char)'"'] = 1;
    if (PyType_Ready(&ReducerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&ReducerType);
    if (PyModule_AddObject(m, "Reducer", (PyObject *)&ReducerType) < 0) {
        Py_DECREF(&ReducerType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "KEY", KEY);
    PyModule_AddIntConstant(m, "RTYPE", RTYPE);
    PyModule_AddIntConstant(m, "RID", RID);
    PyModule_AddIntConstant(m, "NUM", NUM);
    PyModule_AddIntConstant(m, "COST", COST);
    PyModule_AddIntConstant(m, "DATE", DATE);
    PyModule_AddIntConstant(m, "START", START);
    PyModule_AddIntConstant(m, "END", END);
    return m;
}

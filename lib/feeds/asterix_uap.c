/* The ASTERIX UAPs this library reads and writes, transcribed from the EUROCONTROL
 * specifications (CAT004 1.12, CAT021 0.23/0.26/2.6, CAT048 1.21, CAT062 1.19), and the walk of
 * an item's length from its format. A UAP entry says only how long an item is; what the items
 * mean is in asterix.c. */
#include "feeds/asterix_uap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SP_                                                                                        \
    {                                                                                              \
        AX_SPARE, 0, NULL, 0                                                                       \
    }
#define F(n)                                                                                       \
    {                                                                                              \
        AX_FIXED, n, NULL, 0                                                                       \
    }
#define V(n)                                                                                       \
    {                                                                                              \
        AX_EXTENDED, n, NULL, 0                                                                    \
    }
#define R(n)                                                                                       \
    {                                                                                              \
        AX_REPETITIVE, n, NULL, 0                                                                  \
    }
#define E_                                                                                         \
    {                                                                                              \
        AX_EXPLICIT, 0, NULL, 0                                                                    \
    }
#define C(a)                                                                                       \
    {                                                                                              \
        AX_COMPOUND, 0, a, (uint8_t)N(a)                                                           \
    }

/* ---- compound items' subfields ---- */
static const ax_format_t c021_220[] = {F(2), F(2), F(2), F(1)}; /* met information */
static const ax_format_t c021_110[] = {V(1), R(15)};            /* trajectory intent */
static const ax_format_t c021_295[] = {F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1),
                                       F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1),
                                       F(1), F(1), F(1), F(1), F(1), F(1), F(1)}; /* data ages */
static const ax_format_t c062_110[] = {F(1), F(4), F(6), F(2), F(2), F(1), F(1)}; /* mode 5 */
static const ax_format_t c062_290[] = {F(1), F(1), F(1), F(1), F(2), F(1), F(1), F(1), F(1), F(1)};
static const ax_format_t c062_295[] = {
    F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1),
    F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1), F(1)};
static const ax_format_t c062_340[] = {F(2), F(4), F(2), F(2), F(2), F(1)};
/* I062/380 aircraft derived data: ADR ID MHG IAS TAS SAL FSS TIS TID COM SAB ACS BVR GVR RAN TAR
 * TAN GSP VUN MET EMC POS GAL PUN MB IAR MAC BPS. */
static const ax_format_t c062_380[] = {F(3), F(6), F(2), F(2), F(2), F(2), F(2), V(1), R(15), F(2),
                                       F(2), F(7), F(2), F(2), F(2), F(2), F(2), F(2), F(1),  F(8),
                                       F(1), F(6), F(2), F(1), R(8), F(2), F(2), F(2)};
static const ax_format_t c062_390[] = {F(2), F(7), F(4), F(1), F(4), F(1), F(4), F(4), F(3),
                                       F(2), F(2), R(4), F(6), F(1), F(7), F(7), F(2), F(7)};
static const ax_format_t c062_500[] = {F(4), F(2), F(4), F(1), F(1), F(2), F(2), F(1)};
static const ax_format_t c048_120[] = {F(2), R(6)};
static const ax_format_t c048_130[] = {F(1), F(1), F(1), F(1), F(1), F(1), F(1)};
static const ax_format_t c004_070[] = {F(3), F(3), F(3), F(2), F(2), F(2)};
static const ax_format_t c004_100[] = {F(6), F(7), F(7), F(7), F(7), F(7)};
static const ax_format_t c004_120[] = {V(1), F(1), F(1), F(3)};
/* I004/170 and /171: AI, M3A, CPW, CPC, TT, DT, AC, MS, FP, CF. */
static const ax_format_t c004_170[] = {F(7), F(2), F(10), F(8), F(3), F(2), V(1), F(6), F(4), F(2)};

/* ---- UAPs, by FRN - 1 ---- */
static const ax_format_t u021_v2[] = {
    F(2), V(1), F(2),        F(1), F(3), F(6),        F(8),        /* 010 040 161 015 071 130 131 */
    F(3), F(2), F(2),        F(3), F(3), F(4),        F(3),        /* 072 150 151 080 073 074 075 */
    F(4), F(2), V(1),        F(1), F(2), F(2),        F(2),        /* 076 140 090 210 070 230 145 */
    F(2), F(1), F(2),        F(2), F(4), F(2),        F(3),        /* 152 200 155 157 160 165 077 */
    F(6), F(1), C(c021_220), F(2), F(2), C(c021_110), F(1),        /* 170 020 220 146 148 110 016 */
    F(1), V(1), F(1),        R(8), F(7), F(1),        C(c021_295), /* 008 271 132 250 260 400 295 */
    SP_,  SP_,  SP_,         SP_,  SP_,  E_,          E_,          /* spare x5, RE, SP */
};
static const char *const i021_v2[] = {
    "021/010", "021/040", "021/161", "021/015", "021/071", "021/130", "021/131",
    "021/072", "021/150", "021/151", "021/080", "021/073", "021/074", "021/075",
    "021/076", "021/140", "021/090", "021/210", "021/070", "021/230", "021/145",
    "021/152", "021/200", "021/155", "021/157", "021/160", "021/165", "021/077",
    "021/170", "021/020", "021/220", "021/146", "021/148", "021/110", "021/016",
    "021/008", "021/271", "021/132", "021/250", "021/260", "021/400", "021/295",
    "spare",   "spare",   "spare",   "spare",   "spare",   "021/RE",  "021/SP"};

#define U021_V0(pos_len)                                                                           \
    {                                                                                              \
        F(2), F(2), F(3), F(pos_len), F(3), F(2), F(2), /* 010 040 030 130 080 140 090 */          \
            F(1), F(2), F(2), F(2), F(2), F(2), F(2),   /* 210 230 145 150 151 152 155 */          \
            F(2), F(4), V(1), F(6), F(1), F(1), F(1),   /* 157 160 165 170 095 032 200 */          \
            F(1), C(c021_220), F(2), F(2), C(c021_110), F(2),                                      \
            F(1),                            /* 020 220 146 148 110 070 131 */                     \
            SP_, SP_, SP_, SP_, SP_, E_, E_, /* spare x5, RE, SP */                                \
    }
static const ax_format_t u021_v023[] = U021_V0(6);
static const ax_format_t u021_v026[] = U021_V0(8);
static const char *const i021_v0[] = {
    "021/010", "021/040", "021/030", "021/130", "021/080", "021/140", "021/090",
    "021/210", "021/230", "021/145", "021/150", "021/151", "021/152", "021/155",
    "021/157", "021/160", "021/165", "021/170", "021/095", "021/032", "021/200",
    "021/020", "021/220", "021/146", "021/148", "021/110", "021/070", "021/131",
    "spare",   "spare",   "spare",   "spare",   "spare",   "021/RE",  "021/SP"};

static const ax_format_t u062[] = {
    F(2), SP_,         F(1),        F(3),
    F(8), F(6),        F(4), /* 010 - 015 070 105 100 185 */
    F(2), F(2),        F(7),        C(c062_380),
    F(2), V(1),        C(c062_290), /* 210 060 245 380 040 080 290 */
    F(1), C(c062_295), F(2),        F(2),
    F(2), F(2),        C(c062_390), /* 200 295 136 130 135 220 390 */
    V(1), F(1),        C(c062_110), F(2),
    V(3), C(c062_500), C(c062_340), /* 270 300 110 120 510 500 340 */
    SP_,  SP_,         SP_,         SP_,
    SP_,  E_,          E_, /* spare x5, RE, SP */
};
static const char *const i062[] = {"062/010", "spare",   "062/015", "062/070", "062/105", "062/100",
                                   "062/185", "062/210", "062/060", "062/245", "062/380", "062/040",
                                   "062/080", "062/290", "062/200", "062/295", "062/136", "062/130",
                                   "062/135", "062/220", "062/390", "062/270", "062/300", "062/110",
                                   "062/120", "062/510", "062/500", "062/340", "spare",   "spare",
                                   "spare",   "spare",   "spare",   "062/RE",  "062/SP"};

static const ax_format_t u048[] = {
    F(2), F(3), V(1), F(4), F(2), F(2),        C(c048_130), /* 010 140 020 040 070 090 130 */
    F(3), F(6), R(8), F(2), F(4), F(4),        V(1),        /* 220 240 250 161 042 200 170 */
    F(4), V(1), F(2), F(4), F(2), C(c048_120), F(2),        /* 210 030 080 100 110 120 230 */
    F(7), F(1), F(2), F(1), F(2), E_,          E_,          /* 260 055 050 065 060 SP RE */
};
static const char *const i048[] = {"048/010", "048/140", "048/020", "048/040", "048/070", "048/090",
                                   "048/130", "048/220", "048/240", "048/250", "048/161", "048/042",
                                   "048/200", "048/170", "048/210", "048/030", "048/080", "048/100",
                                   "048/110", "048/120", "048/230", "048/260", "048/055", "048/050",
                                   "048/065", "048/060", "048/SP",  "048/RE"};

static const ax_format_t u004[] = {
    F(2),        F(1),        R(2),        F(3),
    F(2),        F(1),        V(1), /* 010 000 015 020 040 045 060 */
    F(2),        C(c004_170), C(c004_120), C(c004_070),
    F(2),        F(2),        F(3), /* 030 170 120 070 076 074 075 */
    C(c004_100), F(2),        C(c004_170), R(2),
    SP_,         E_,          E_, /* 100 035 171 110 - RE SP */
};
static const char *const i004[] = {"004/010", "004/000", "004/015", "004/020", "004/040", "004/045",
                                   "004/060", "004/030", "004/170", "004/120", "004/070", "004/076",
                                   "004/074", "004/075", "004/100", "004/035", "004/171", "004/110",
                                   "spare",   "004/RE",  "004/SP"};

#define UAP(c, name, ids, items)                                                                   \
    {                                                                                              \
        c, name, ids, items, N(items)                                                              \
    }
static const ax_uap_t uap021_v2 = UAP(21, "CAT021 2.6", i021_v2, u021_v2);
static const ax_uap_t uap021_v026 = UAP(21, "CAT021 0.26", i021_v0, u021_v026);
/* I021/165 (rate of turn) is an extended item in both 0.2x editions: its octet holds TI and
 * FX (one definition file calls 0.23's compound, against its own bit layout). */
static const ax_uap_t uap021_v023 = UAP(21, "CAT021 0.23", i021_v0, u021_v023);
static const ax_uap_t uap062 = UAP(62, "CAT062 1.19", i062, u062);
static const ax_uap_t uap048 = UAP(48, "CAT048 1.21", i048, u048);
static const ax_uap_t uap004 = UAP(4, "CAT004 1.12", i004, u004);

_Static_assert(N(u021_v2) == N(i021_v2), "CAT021 names");
_Static_assert(N(u021_v023) == N(i021_v0) && N(u021_v026) == N(i021_v0), "CAT021 0.2x names");
_Static_assert(N(u062) == N(i062), "CAT062 names");
_Static_assert(N(u048) == N(i048), "CAT048 names");
_Static_assert(N(u004) == N(i004), "CAT004 names");

const ax_uap_t *dc_ax_uap(int cat, const dc_asterix_config_t *cfg)
{
    switch (cat) {
    case 4:
        return &uap004;
    case 21:
        if (cfg && cfg->cat021_edition == DC_ASTERIX_CAT021_V023) return &uap021_v023;
        if (cfg && cfg->cat021_edition == DC_ASTERIX_CAT021_V026) return &uap021_v026;
        return &uap021_v2;
    case 48:
        return &uap048;
    case 62:
        return &uap062;
    default:
        return NULL;
    }
}

/* The primary subfield of a compound item: FX-extended octets, at most as many as needed to
 * announce every subfield the item defines. */
static size_t primary_len(const ax_format_t *f, const uint8_t *p, size_t avail)
{
    size_t n = 0, max = (f->n_sub + 6) / 7;
    do {
        if (n == avail || n == max) return 0;
    } while (p[n++] & 1);
    return n;
}

size_t dc_ax_item_len(const ax_format_t *f, const uint8_t *p, size_t avail)
{
    switch ((ax_kind_t)f->kind) {
    case AX_FIXED:
        return f->len <= avail ? f->len : 0;
    case AX_EXTENDED: {
        size_t n = 0;
        do {
            if (avail - n < f->len) return 0;
            n += f->len;
        } while (p[n - 1] & 1);
        return n;
    }
    case AX_REPETITIVE: {
        if (avail < 1) return 0;
        size_t n = 1 + (size_t)p[0] * f->len;
        return n <= avail ? n : 0;
    }
    case AX_EXPLICIT:
        return avail >= 1 && p[0] >= 1 && p[0] <= avail ? p[0] : 0;
    case AX_COMPOUND: {
        size_t prim = primary_len(f, p, avail);
        if (!prim) return 0;
        size_t n = prim;
        for (size_t i = 0; i < prim * 7; i++) {
            if (!(p[i / 7] & (0x80 >> (i % 7)))) continue;
            if (i >= f->n_sub || f->sub[i].kind == AX_SPARE) return 0;
            size_t l = dc_ax_item_len(&f->sub[i], p + n, avail - n);
            if (!l) return 0;
            n += l;
        }
        return n;
    }
    case AX_SPARE:
        break;
    }
    return 0;
}

const uint8_t *dc_ax_subfield(const ax_format_t *f, const uint8_t *p, size_t index)
{
    size_t prim = 0;
    while (p[prim++] & 1) {
    }
    if (index >= prim * 7 || !(p[index / 7] & (0x80 >> (index % 7)))) return NULL;
    const uint8_t *q = p + prim;
    for (size_t i = 0; i < index; i++)
        if (p[i / 7] & (0x80 >> (i % 7))) q += dc_ax_item_len(&f->sub[i], q, SIZE_MAX);
    return q;
}

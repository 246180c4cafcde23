/* dns_rr.c -- record types and pdns record content (parsed by libzscanner, rendered by libknot). */
#include <stdarg.h>
#include <stdio.h>
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libknot/libknot.h>
#include <libzscanner/scanner.h>

#include "mxg/dns.h"
#include "mxg/err.h"

#define TYPE_ALIAS 65401
#define TYPE_LUA 65402

/* Types pdns names otherwise than libknot: pdns's mnemonic, and the type whose rdata layout
 * they share, through which libknot parses and renders them (ALIAS, MB, MG and MR carry one
 * name like CNAME; RKEY is laid out as DNSKEY, DLV as DS). LUA has no wire form. */
static const struct pdns_type {
    uint16_t type;
    uint16_t twin;
    const char *name;
} pdns_types[] = {
    {7, KNOT_RRTYPE_CNAME, "MB"},
    {10, 10, "TYPE10"}, /* libknot's NULL, which pdns has no name for */
    {21, 21, "TYPE21"}, /* libknot's RT, likewise */
    {38, 38, "A6"},     /* kept in the generic form */
    {8, KNOT_RRTYPE_CNAME, "MG"},
    {9, KNOT_RRTYPE_CNAME, "MR"},
    {57, KNOT_RRTYPE_DNSKEY, "RKEY"},
    {32769, KNOT_RRTYPE_DS, "DLV"},
    {TYPE_ALIAS, KNOT_RRTYPE_CNAME, "ALIAS"},
    {TYPE_LUA, 0, "LUA"},
};

static const struct pdns_type *pdns_type_of(uint16_t type)
{
    for (size_t i = 0; i < sizeof(pdns_types) / sizeof(pdns_types[0]); i++) {
        if (pdns_types[i].type == type) {
            return &pdns_types[i];
        }
    }
    return NULL;
}

uint16_t mxg_rrtype_twin(uint16_t type)
{
    const struct pdns_type *pt = pdns_type_of(type);
    return pt != NULL && pt->twin != 0 ? pt->twin : type;
}

/* Scratch for rendering when the caller's buffer is too small or the rendering fails there:
 * big enough for any 64 KiB rdata (a full NSEC type bitmap renders to ~650 KiB). */
#define RENDER_SCRATCH ((size_t)8 * MXG_CONTENT_MAX)
/* Zeroed octets after a copy of the rdata being rendered. */
#define RDATA_SLACK 16

/* Single line, numeric TTLs, YYYYMMDDHHmmSS timestamps, nothing hidden. */
static const knot_dump_style_t dump_style = {
    .wrap = false,
    .show_class = false,
    .show_ttl = false,
    .verbose = false,
    .original_ttl = false,
    .empty_ttl = false,
    .human_ttl = false,
    .human_timestamp = true,
    .generic = false,
    .hide_crypto = false,
    .ascii_to_idn = NULL,
    .color = NULL,
    /* RRSIG times as plain dates from 1970 to 2106 (0 aside), not relative to today. */
    .now = (uint64_t)1 << 31,
};

/* ---- record types ---------------------------------------------------------------------- */

/* Types that never belong to stored data: ENT/TYPE0, meta and query types. */
static bool type_refused(uint16_t type)
{
    return type == 0 || type == 253 /* MAILB */ || type == 254 /* MAILA */ ||
           knot_rrtype_is_metatype(type);
}

int mxg_rrtype_name(uint16_t type, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0) {
        return MXG_ERANGE;
    }
    if (type_refused(type)) {
        return MXG_EINVAL;
    }
    int n;
    const struct pdns_type *pt = pdns_type_of(type);
    if (pt != NULL) {
        n = snprintf(out, outlen, "%s", pt->name);
    } else {
        n = knot_rrtype_to_string(type, out, outlen);
    }
    if (n <= 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return MXG_ERANGE;
    }
    return MXG_OK;
}

int mxg_rrtype_parse(const char *in, char *out, size_t outlen, uint16_t *type)
{
    uint16_t num = 0;

    if (in == NULL || type == NULL) {
        return MXG_EINVAL;
    }
    size_t len = strlen(in);
    if (len == 0 || len >= MXG_TYPE_MAX) {
        return MXG_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-')) {
            return MXG_EINVAL;
        }
    }
    for (size_t i = 0; i < sizeof(pdns_types) / sizeof(pdns_types[0]) && num == 0; i++) {
        if (strcasecmp(in, pdns_types[i].name) == 0) {
            num = pdns_types[i].type;
        }
    }
    if (num == 0) {
        /* libknot's TYPEnnn goes through strtoul: accept plain digits only. */
        if (strncasecmp(in, "TYPE", 4) == 0 && len > 4) {
            for (size_t i = 4; i < len; i++) {
                if (in[i] < '0' || in[i] > '9') {
                    return MXG_EINVAL;
                }
            }
        }
        if (knot_rrtype_from_string(in, &num) != 0) {
            return MXG_EINVAL;
        }
    }
    if (type_refused(num)) {
        return MXG_EINVAL;
    }
    int rc = mxg_rrtype_name(num, out, outlen);
    if (rc != MXG_OK) {
        return rc;
    }
    *type = num;
    return MXG_OK;
}

/* ---- rendering: wire rdata -> pdns content ---------------------------------------------- */

/* Which whitespace-separated tokens of knot's single-line rendering are domain names (their
 * trailing dot is dropped) and which are hex (lowercased, as pdns writes hex). Bit i = token i. */
struct rr_fmt {
    uint16_t type;
    uint32_t names;
    uint32_t hex;
};

#define TOK(i) (1u << (i))

static const struct rr_fmt rr_fmts[] = {
    {KNOT_RRTYPE_NS, TOK(0), 0},
    {KNOT_RRTYPE_CNAME, TOK(0), 0},
    {KNOT_RRTYPE_PTR, TOK(0), 0},
    {KNOT_RRTYPE_DNAME, TOK(0), 0},
    {KNOT_RRTYPE_NSEC, TOK(0), 0},
    {KNOT_RRTYPE_SOA, TOK(0) | TOK(1), 0},
    {KNOT_RRTYPE_MINFO, TOK(0) | TOK(1), 0},
    {KNOT_RRTYPE_RP, TOK(0) | TOK(1), 0},
    {KNOT_RRTYPE_MX, TOK(1), 0},
    {KNOT_RRTYPE_AFSDB, TOK(1), 0},
    {KNOT_RRTYPE_RT, TOK(1), 0},
    {KNOT_RRTYPE_KX, TOK(1), 0},
    {KNOT_RRTYPE_LP, TOK(1), 0},
    {KNOT_RRTYPE_SVCB, TOK(1), 0},
    {KNOT_RRTYPE_HTTPS, TOK(1), 0},
    {KNOT_RRTYPE_SRV, TOK(3), 0},
    {KNOT_RRTYPE_IPSECKEY, TOK(3), 0}, /* only when the gateway type (token 1) is 3 */
    {KNOT_RRTYPE_NAPTR, TOK(5), 0},
    {KNOT_RRTYPE_RRSIG, TOK(7), 0},
    {KNOT_RRTYPE_DS, 0, TOK(3)},
    {KNOT_RRTYPE_CDS, 0, TOK(3)},
    {KNOT_RRTYPE_TLSA, 0, TOK(3)},
    {KNOT_RRTYPE_SMIMEA, 0, TOK(3)},
    {KNOT_RRTYPE_ZONEMD, 0, TOK(3)},
    {KNOT_RRTYPE_NSEC3, 0, TOK(3)},
    {KNOT_RRTYPE_NSEC3PARAM, 0, TOK(3)},
    {KNOT_RRTYPE_SSHFP, 0, TOK(2)},
    {KNOT_RRTYPE_EUI48, 0, TOK(0)},
    {KNOT_RRTYPE_EUI64, 0, TOK(0)},
    {KNOT_RRTYPE_NID, 0, TOK(1)},
    {KNOT_RRTYPE_L64, 0, TOK(1)},
};

/* Knot's generic "\# LEN HEX" rendering. */
static const struct rr_fmt generic_fmt = {0, 0, TOK(2)};

static const struct rr_fmt *fmt_of(uint16_t type)
{
    type = mxg_rrtype_twin(type);
    for (size_t i = 0; i < sizeof(rr_fmts) / sizeof(rr_fmts[0]); i++) {
        if (rr_fmts[i].type == type) {
            return &rr_fmts[i];
        }
    }
    return NULL;
}

/* Rewrites knot's rendering in place into pdns content: single spaces between tokens (knot
 * pads LOC fields, ends CAA/URI with a space), no trailing dot on names, lowercase hex.
 * Returns the new length. */
/* Value of a \DDD escape at s (s[0] == '\\'), or -1. */
static int ddd(const char *s, size_t avail)
{
    if (avail < 4 || s[0] != '\\' || !isdigit((unsigned char)s[1]) ||
        !isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]))
        return -1;
    int v = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    return v <= 255 ? v : -1;
}

/* pdns keeps UTF-8 in TXT/SPF strings as raw bytes; knot writes every octet over 0x7e as
 * \DDD. Turn the \DDD runs that form valid UTF-8 sequences back into raw bytes. */
static size_t utf8_unescape(char *b, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        int lead = b[r] == '\\' ? ddd(b + r, n - r) : -1;
        if (lead < 0) {
            if (b[r] == '\\' && r + 1 < n)
                b[w++] = b[r++];
            b[w++] = b[r++];
            continue;
        }
        int need = lead >= 0xC2 && lead <= 0xDF   ? 1
                   : lead >= 0xE0 && lead <= 0xEF ? 2
                   : lead >= 0xF0 && lead <= 0xF4 ? 3
                                                  : -1;
        unsigned char seq[4] = {(unsigned char)lead};
        bool ok = need > 0;
        for (int k = 1; ok && k <= need; k++) {
            int v = ddd(b + r + 4 * (size_t)k, n - r - 4 * (size_t)k);
            ok = v >= 0x80 && v <= 0xBF;
            if (ok)
                seq[k] = (unsigned char)v;
        }
        /* Overlong forms and surrogates are not valid UTF-8. */
        if (ok && ((lead == 0xE0 && seq[1] < 0xA0) || (lead == 0xED && seq[1] > 0x9F) ||
                   (lead == 0xF0 && seq[1] < 0x90) || (lead == 0xF4 && seq[1] > 0x8F)))
            ok = false;
        if (!ok) {
            memmove(b + w, b + r, 4);
            w += 4;
            r += 4;
            continue;
        }
        for (int k = 0; k <= need; k++)
            b[w++] = (char)seq[k];
        r += 4 * (size_t)(need + 1);
    }
    b[w] = '\0';
    return w;
}

/* Rewrites one name token of knot's rendering (RFC 1035 escapes, trailing dot) in place into
 * pdns's form without the trailing dot ("M\(ai\)L.example." -> "M(ai)L.example", the root
 * stays "."), which is never longer. Returns the new length. */
static size_t name_to_pdns(char *tok, size_t tlen)
{
    if (tlen <= MXG_NAME_TEXT_MAX) {
        char in[MXG_NAME_TEXT_MAX + 1], out[MXG_NAME_TEXT_MAX + 1];
        memcpy(in, tok, tlen);
        in[tlen] = '\0';
        if (mxg_name_format(in, MXG_NAME_PDNS, out, sizeof(out)) == MXG_OK) {
            size_t olen = strlen(out);
            if (olen > 1) {
                olen--; /* the trailing dot */
            }
            if (olen <= tlen) {
                /* tok is a token inside a longer string: no terminator belongs here.
                 * NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
                memcpy(tok, out, olen);
                return olen;
            }
        }
    }
    /* Not a name knot would write: only the final dot goes, unless escaped (an odd run of
     * backslashes before it). */
    if (tlen > 1 && tok[tlen - 1] == '.') {
        size_t bs = 0;
        while (bs + 1 < tlen && tok[tlen - 2 - bs] == '\\') {
            bs++;
        }
        if (bs % 2 == 0) {
            tlen--;
        }
    }
    return tlen;
}

static size_t postprocess(uint16_t type, char *b, size_t n)
{
    const struct rr_fmt *fmt = fmt_of(type);
    size_t r = 0, w = 0;
    unsigned tok = 0;
    bool gw_is_name = false;

    if (n >= 2 && b[0] == '\\' && b[1] == '#') {
        fmt = &generic_fmt;
    }
    while (r < n && b[r] == ' ') {
        r++;
    }
    while (r < n) {
        if (tok > 0) {
            b[w++] = ' ';
        }
        size_t start = w;
        bool quoted = false;
        while (r < n) {
            char c = b[r];
            if (!quoted && c == ' ') {
                break;
            }
            if (c == '\\' && r + 1 < n) {
                b[w++] = b[r++];
                b[w++] = b[r++];
                continue;
            }
            if (c == '"') {
                quoted = !quoted;
            }
            b[w++] = b[r++];
        }
        size_t tlen = w - start;
        if (type == KNOT_RRTYPE_IPSECKEY && tok == 1) {
            gw_is_name = (tlen == 1 && b[start] == '3');
        }
        if (fmt != NULL && tok < 32) {
            bool is_name = (fmt->names & TOK(tok)) != 0;
            if (type == KNOT_RRTYPE_IPSECKEY) {
                is_name = is_name && gw_is_name;
            }
            if (is_name) {
                w = start + name_to_pdns(b + start, tlen);
            }
            if ((fmt->hex & TOK(tok)) != 0) {
                for (size_t i = start; i < w; i++) {
                    if (b[i] >= 'A' && b[i] <= 'F') {
                        b[i] = (char)(b[i] - 'A' + 'a');
                    }
                }
            }
        }
        tok++;
        while (r < n && b[r] == ' ') {
            r++;
        }
    }
    b[w] = '\0';
    return w;
}

/* A type bitmap (NSEC, NSEC3, CSYNC): windows in ascending order, 1 to 32 octets each. Knot
 * renders any order, which would not parse back to the same rdata. */
static bool bitmap_ok(const uint8_t *d, size_t len)
{
    int last = -1;

    for (size_t i = 0; i < len;) {
        if (len - i < 2 || (int)d[i] <= last || d[i + 1] == 0 || d[i + 1] > 32 ||
            len - i - 2 < d[i + 1]) {
            return false;
        }
        last = d[i];
        i += 2u + d[i + 1];
    }
    return true;
}

/* Layouts inside rdata that knot's descriptors call "remainder" but its renderer (3.2) walks
 * without bounds checks (length-prefixed NSEC3/NSEC3PARAM salt and hash, the IPSECKEY gateway
 * name, the SVCB/HTTPS target name), or renders in a form that does not parse back (type
 * bitmaps out of order, a CAA tag that is not alphanumeric). */
static bool layout_ok(uint16_t type, const uint8_t *d, size_t len)
{
    size_t h;

    switch (type) {
    case KNOT_RRTYPE_NSEC:
        h = knot_dname_size(d); /* checked against the descriptor already */
        return h <= len && bitmap_ok(d + h, len - h);
    case KNOT_RRTYPE_CSYNC:
        return len >= 6 && bitmap_ok(d + 6, len - 6);
    case KNOT_RRTYPE_NSEC3PARAM:
        return len >= 5 && len == 5u + d[4];
    case KNOT_RRTYPE_NSEC3:
        if (len < 6 || 5u + d[4] >= len) {
            return false;
        }
        h = 5u + d[4];
        if (d[h] == 0 || h + 1 + d[h] > len) {
            return false;
        }
        h += 1u + d[h];
        return bitmap_ok(d + h, len - h);
    case KNOT_RRTYPE_IPSECKEY:
        if (len < 3) {
            return false;
        }
        switch (d[1]) {
        case 0:
            return true;
        case 1:
            return len >= 3 + 4;
        case 2:
            return len >= 3 + 16;
        case 3:
            return knot_dname_wire_check(d + 3, d + len, NULL) > 0;
        default:
            return false;
        }
    case KNOT_RRTYPE_SVCB:
    case KNOT_RRTYPE_HTTPS:
        return len >= 3 && knot_dname_wire_check(d + 2, d + len, NULL) > 0;
    case KNOT_RRTYPE_CAA:
        if (len < 2 || d[1] == 0 || 2u + d[1] > len) {
            return false;
        }
        for (size_t i = 0; i < d[1]; i++) {
            uint8_t c = d[2 + i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
                return false;
            }
        }
        return true;
    default:
        return true;
    }
}

int mxg_rr_from_wire(uint16_t type, const uint8_t *rdata, size_t rdlen, char *out, size_t outlen,
                     char *err, size_t errlen)
{
    char tname[MXG_TYPE_MAX];

    if (out == NULL || outlen == 0) {
        return MXG_ERANGE;
    }
    out[0] = '\0';
    if (mxg_rrtype_name(type, tname, sizeof(tname)) != MXG_OK) {
        mxg_set_err(err, errlen, "record type %u is not stored data", (unsigned)type);
        return MXG_EINVAL;
    }
    if (type == TYPE_LUA) {
        mxg_set_err(err, errlen, "LUA content has no wire form");
        return MXG_EINVAL;
    }
    if (rdata == NULL && rdlen > 0) {
        mxg_set_err(err, errlen, "missing rdata");
        return MXG_EINVAL;
    }
    if (rdlen > UINT16_MAX) {
        mxg_set_err(err, errlen, "rdata longer than 65535 octets");
        return MXG_ERANGE;
    }
    /* A type libknot does not know (ALIAS, MB, ...) is checked and rendered as its twin. */
    uint16_t ktype = mxg_rrtype_twin(type);

    /* A one-record wire image (root owner) for knot_rrset_rr_from_wire, which checks the rdata
     * against the type's descriptor (name bounds, fixed fields, no trailing bytes). */
    size_t wlen = 11 + rdlen;
    uint8_t *wire = malloc(wlen);
    if (wire == NULL) {
        return MXG_ENOMEM;
    }
    wire[0] = 0;
    knot_wire_write_u16(wire + 1, ktype);
    knot_wire_write_u16(wire + 3, KNOT_CLASS_IN);
    knot_wire_write_u32(wire + 5, 0);
    knot_wire_write_u16(wire + 9, (uint16_t)rdlen);
    if (rdlen > 0) {
        memcpy(wire + 11, rdata, rdlen);
    }
    knot_rrset_t rr;
    size_t pos = 0;
    knot_rrset_init_empty(&rr);
    int krc = knot_rrset_rr_from_wire(wire, &pos, wlen, &rr, NULL, false);
    free(wire);
    if (krc != KNOT_EOK) {
        mxg_set_err(err, errlen, "malformed %s rdata", tname);
        return krc == KNOT_ENOMEM ? MXG_ENOMEM : MXG_EINVAL;
    }
    const knot_rdata_t *rd = knot_rdataset_at(&rr.rrs, 0);
    bool same = rr.rrs.count == 1 && rd != NULL && rd->len == rdlen &&
                (rdlen == 0 || memcmp(rd->data, rdata, rdlen) == 0);
    knot_rrset_clear(&rr, NULL);
    if (!same) {
        mxg_set_err(err, errlen, "compressed name in %s rdata", tname);
        return MXG_EINVAL;
    }
    if (!layout_ok(ktype, rdata, rdlen)) {
        mxg_set_err(err, errlen, "malformed %s rdata", tname);
        return MXG_EINVAL;
    }

    /* Render from a copy followed by zeroed slack: a few of knot's field readers look at an
     * octet or two before checking the remaining length. */
    knot_rdata_t *padded = calloc(1, knot_rdata_size((uint16_t)rdlen) + RDATA_SLACK);
    if (padded == NULL) {
        return MXG_ENOMEM;
    }
    knot_rdata_init(padded, (uint16_t)rdlen, rdata);
    knot_rrset_init(&rr, NULL, ktype, KNOT_CLASS_IN, 0);
    rr.rrs.count = 1;
    rr.rrs.size = (uint32_t)knot_rdata_size((uint16_t)rdlen);
    rr.rrs.rdata = padded;

    int rc = MXG_OK;
    int n = knot_rrset_txt_dump_data(&rr, 0, out, outlen, &dump_style);
    size_t len;
    if (n >= 0) {
        len = postprocess(type, out, (size_t)n);
        if (type == KNOT_RRTYPE_TXT || type == KNOT_RRTYPE_SPF)
            len = utf8_unescape(out, len);
    } else {
        /* Too small for the caller's buffer, or not renderable at all: tell them apart. */
        char *big = malloc(RENDER_SCRATCH);
        if (big == NULL) {
            free(padded);
            return MXG_ENOMEM;
        }
        n = knot_rrset_txt_dump_data(&rr, 0, big, RENDER_SCRATCH, &dump_style);
        if (n < 0) {
            mxg_set_err(err, errlen, "malformed %s rdata", tname);
            rc = MXG_EINVAL;
            len = 0;
        } else {
            len = postprocess(type, big, (size_t)n);
            if (type == KNOT_RRTYPE_TXT || type == KNOT_RRTYPE_SPF)
                len = utf8_unescape(big, len);
            if (len < outlen) {
                memcpy(out, big, len + 1);
            } else {
                mxg_set_err(err, errlen, "content longer than the output buffer");
                rc = MXG_ERANGE;
            }
        }
        free(big);
    }
    free(padded);
    if (rc == MXG_OK && len > MXG_CONTENT_MAX) {
        mxg_set_err(err, errlen, "content longer than %d bytes", MXG_CONTENT_MAX);
        rc = MXG_ERANGE;
    }
    if (rc != MXG_OK) {
        out[0] = '\0';
    }
    return rc;
}

/* ---- parsing: pdns or zone-file content -> wire rdata -> pdns content -------------------- */

/* Content goes into a one-line master-file record: refuse anything that could end the line,
 * start a comment, open a multi-line block or escape past the end. */
static int check_content(const char *c, char *err, size_t errlen)
{
    bool quoted = false;

    for (const unsigned char *p = (const unsigned char *)c; *p != '\0'; p++) {
        bool escaped = false;
        if (*p == '\\') {
            if (p[1] == '\0') {
                mxg_set_err(err, errlen, "content ends with a backslash");
                return MXG_EINVAL;
            }
            p++;
            escaped = true;
        }
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            mxg_set_err(err, errlen, "control character in content");
            return MXG_EINVAL;
        }
        if (escaped) {
            continue;
        }
        if (*p == '"') {
            quoted = !quoted;
        } else if (!quoted && *p == ';') {
            mxg_set_err(err, errlen, "comment in content");
            return MXG_EINVAL;
        } else if (!quoted && (*p == '(' || *p == ')')) {
            mxg_set_err(err, errlen, "unquoted parenthesis in content");
            return MXG_EINVAL;
        }
    }
    if (quoted) {
        mxg_set_err(err, errlen, "unterminated quoted string");
        return MXG_EINVAL;
    }
    return MXG_OK;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Unquoted TXT/SPF content is one string: wrap it in quotes, escaping bare quotes.
 * Returns a malloc()ed string or NULL. */
static char *quote_txt(const char *c, size_t len)
{
    char *q = malloc(2 * len + 3);
    if (q == NULL) {
        return NULL;
    }
    size_t w = 0;
    q[w++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (c[i] == '\\' && i + 1 < len) {
            q[w++] = c[i++];
            q[w++] = c[i];
            continue;
        }
        if (c[i] == '"') {
            q[w++] = '\\';
        }
        q[w++] = c[i];
    }
    q[w++] = '"';
    q[w] = '\0';
    return q;
}

/* libzscanner's scanner is a 200 KiB struct: one buffer per thread, kept for the thread's life
 * (zs_init/zs_deinit per record still reset it), instead of an allocation per record. */
static pthread_key_t scanner_key;
static pthread_once_t scanner_once = PTHREAD_ONCE_INIT;
static bool scanner_key_ok;

static void scanner_key_init(void)
{
    scanner_key_ok = pthread_key_create(&scanner_key, free) == 0;
}

static zs_scanner_t *scanner_buffer(void)
{
    if (pthread_once(&scanner_once, scanner_key_init) != 0 || !scanner_key_ok)
        return NULL;
    zs_scanner_t *s = pthread_getspecific(scanner_key);
    if (s == NULL) {
        s = malloc(sizeof(*s));
        if (s != NULL && pthread_setspecific(scanner_key, s) != 0) {
            free(s);
            s = NULL;
        }
    }
    return s;
}

/* pdns writes a name inside content as DNSName::toString() does, and reads it back as one
 * blank-delimited token (RecordTextReader::xfrName): '(' ')' ';' '"' '@' '$' '#' stand there as
 * plain octets ("10 m(ai)l.example.com", "q\"uote.example.com") where a master file would
 * read a block, a comment, a string or the origin. Rewrites the name fields of content (the
 * name tokens of rr_fmts; IPSECKEY's gateway when its type is 3) into master-file-safe form for
 * zscanner and copies everything else, quoted strings included, as it is; a lone "@" (the
 * origin, "." here) is left to zscanner.
 * Sets *out to a malloc()ed string, or to NULL when there is nothing to rewrite.
 * Returns 0, MXG_ENOMEM, or MXG_EINVAL with a reason in err for a name that does not parse. */
static int names_for_zscanner(uint16_t type, const char *tname, const char *c, size_t len,
                              char **out, char *err, size_t errlen)
{
    const struct rr_fmt *fmt = fmt_of(type);

    *out = NULL;
    if (fmt == NULL || fmt->names == 0 || (len >= 2 && c[0] == '\\' && c[1] == '#')) {
        return MXG_OK;
    }
    unsigned last = 0;
    for (unsigned i = 0; i < 32; i++) {
        if ((fmt->names & TOK(i)) != 0) {
            last = i;
        }
    }
    /* A name token of n characters takes at most 4 * n + 1 (every octet as \DDD, a dot). */
    char *o = malloc(4 * len + 8);
    if (o == NULL) {
        return MXG_ENOMEM;
    }
    char name[MXG_NAME_TEXT_MAX + 1], safe[MXG_NAME_TEXT_MAX + 1];
    size_t r = 0, w = 0;
    bool gw_is_name = false;
    for (unsigned tok = 0; tok <= last && r < len; tok++) {
        while (r < len && is_blank(c[r])) {
            o[w++] = c[r++];
        }
        size_t start = r;
        bool is_name = (fmt->names & TOK(tok)) != 0;
        if (type == KNOT_RRTYPE_IPSECKEY) {
            is_name = is_name && gw_is_name;
        }
        if (is_name) {
            while (r < len && !is_blank(c[r])) {
                r++;
            }
            size_t tl = r - start;
            if (tl > 0 && !(tl == 1 && c[start] == '@')) {
                int rc = MXG_ERANGE;
                if (tl <= MXG_NAME_TEXT_MAX) {
                    memcpy(name, c + start, tl);
                    name[tl] = '\0';
                    rc = mxg_name_format(name, MXG_NAME_ZONEFILE, safe, sizeof(safe));
                }
                if (rc != MXG_OK) {
                    if (rc == MXG_ERANGE) {
                        mxg_set_err(err, errlen,
                                    "invalid %s content: name with a label over 63 or "
                                    "over 255 octets",
                                    tname);
                    } else {
                        mxg_set_err(err, errlen, "invalid %s content: invalid name '%.*s'", tname,
                                    (int)(tl < 64 ? tl : 64), c + start);
                    }
                    free(o);
                    return MXG_EINVAL;
                }
                size_t sl = strlen(safe);
                memcpy(o + w, safe, sl);
                w += sl;
                continue;
            }
        } else {
            bool q = false;
            while (r < len && (q || !is_blank(c[r]))) {
                if (c[r] == '\\' && r + 1 < len) {
                    r += 2;
                    continue;
                }
                if (c[r] == '"') {
                    q = !q;
                }
                r++;
            }
            if (type == KNOT_RRTYPE_IPSECKEY && tok == 1) {
                gw_is_name = (r - start == 1 && c[start] == '3');
            }
        }
        memcpy(o + w, c + start, r - start);
        w += r - start;
    }
    memcpy(o + w, c + r, len - r);
    w += len - r;
    o[w] = '\0';
    *out = o;
    return MXG_OK;
}

int mxg_rr_normalize(const char *type, const char *content, char *out, size_t outlen, char *err,
                     size_t errlen)
{
    char tname[MXG_TYPE_MAX];
    uint16_t num = 0;

    if (out == NULL || outlen == 0) {
        return MXG_ERANGE;
    }
    out[0] = '\0';
    if (type == NULL || mxg_rrtype_parse(type, tname, sizeof(tname), &num) != MXG_OK) {
        mxg_set_err(err, errlen, "unknown record type");
        return MXG_EINVAL;
    }
    if (content == NULL) {
        mxg_set_err(err, errlen, "missing content");
        return MXG_EINVAL;
    }
    size_t clen = strlen(content);
    if (clen > MXG_CONTENT_MAX) {
        mxg_set_err(err, errlen, "content longer than %d bytes", MXG_CONTENT_MAX);
        return MXG_ERANGE;
    }
    if (num == TYPE_LUA) {
        /* pdns's form: the type of the answer, blanks, then the Lua code ("A \"...\""). */
        size_t tl = strcspn(content, " \t");
        const char *code = content + tl;
        while (is_blank(*code)) {
            code++;
        }
        char lname[MXG_TYPE_MAX], ltype[MXG_TYPE_MAX];
        uint16_t lnum = 0;
        if (tl > 0 && tl < sizeof(lname)) {
            memcpy(lname, content, tl);
        }
        lname[tl > 0 && tl < sizeof(lname) ? tl : 0] = '\0';
        if (tl == 0 || tl >= sizeof(lname) || *code == '\0' ||
            mxg_rrtype_parse(lname, ltype, sizeof(ltype), &lnum) != MXG_OK || lnum == TYPE_LUA) {
            mxg_set_err(err, errlen, "invalid LUA content: expected a record type and Lua code");
            return MXG_EINVAL;
        }
        for (const unsigned char *p = (const unsigned char *)content; *p != '\0'; p++) {
            if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
                mxg_set_err(err, errlen, "control character in content");
                return MXG_EINVAL;
            }
        }
        if (clen >= outlen) {
            mxg_set_err(err, errlen, "content longer than the output buffer");
            return MXG_ERANGE;
        }
        memcpy(out, content, clen + 1);
        return MXG_OK;
    }

    /* Trim surrounding blanks. */
    const char *c = content;
    while (is_blank(*c)) {
        c++;
    }
    size_t len = strlen(c);
    while (len > 0 && is_blank(c[len - 1])) {
        size_t bs = 0;
        while (bs + 1 < len && c[len - 2 - bs] == '\\') {
            bs++;
        }
        if (bs % 2 == 1) {
            break; /* an escaped blank is content */
        }
        len--;
    }

    /* From here on every exit goes through out, which releases these. */
    char *quoted = NULL; /* c when it was rewritten: quoted TXT, names made safe for zscanner */
    char *line = NULL;
    zs_scanner_t *s = NULL;
    bool scanning = false; /* zs_init done: zs_deinit at out */
    int rc = MXG_OK;
    if ((num == KNOT_RRTYPE_TXT || num == KNOT_RRTYPE_SPF) && (len == 0 || c[0] != '"')) {
        size_t bs = 0;
        while (bs < len && c[len - 1 - bs] == '\\') {
            bs++;
        }
        if (bs % 2 == 1) {
            mxg_set_err(err, errlen, "content ends with a backslash");
            rc = MXG_EINVAL;
            goto out;
        }
        quoted = quote_txt(c, len);
        if (quoted == NULL) {
            rc = MXG_ENOMEM;
            goto out;
        }
        c = quoted;
        len = strlen(c);
    }

    /* A type libknot does not know (ALIAS, MB, ...) is parsed as its twin. */
    uint16_t ptype = mxg_rrtype_twin(num);
    /* A control character is refused even escaped, before name fields are rewritten. */
    for (const unsigned char *p = (const unsigned char *)c; p < (const unsigned char *)c + len;
         p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
            mxg_set_err(err, errlen, "control character in content");
            rc = MXG_EINVAL;
            goto out;
        }
    }
    char *named = NULL;
    rc = names_for_zscanner(ptype, tname, c, len, &named, err, errlen);
    if (rc != MXG_OK) {
        goto out;
    }
    if (named != NULL) {
        free(quoted);
        quoted = named;
        c = named;
        len = strlen(c);
    }
    rc = check_content(c, err, errlen);
    if (rc != MXG_OK) {
        goto out;
    }
    if (len == 0 && num != KNOT_RRTYPE_APL) { /* an APL list may be empty */
        mxg_set_err(err, errlen, "empty %s content", tname);
        rc = MXG_EINVAL;
        goto out;
    }

    /* "@ 0 IN TYPEnnn <content>\n" with origin "." (relative names become absolute).
     * TYPEnnn takes both the type's own syntax and the generic \# form. */
    size_t linecap = 4 * len + 32;
    line = malloc(linecap);
    s = scanner_buffer();
    if (line == NULL || s == NULL) {
        rc = MXG_ENOMEM;
        goto out;
    }
    int ll = snprintf(line, linecap, "@ 0 IN TYPE%u ", (unsigned)ptype);
    size_t w = ll > 0 ? (size_t)ll : 0;
    /* zscanner takes only ASCII: octets over 0x7f (UTF-8 in TXT, say) go in as \DDD, which
     * means the same octet wherever zone syntax allows it (an escaped one loses its backslash). */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)c[i];
        if (ch == '\\' && i + 1 < len && (unsigned char)c[i + 1] < 0x80) {
            line[w++] = c[i++];
            line[w++] = c[i];
        } else if (ch == '\\' && i + 1 < len) {
            continue; /* the next octet is escaped below */
        } else if (ch >= 0x80) {
            w += (size_t)snprintf(line + w, linecap - w, "\\%03u", (unsigned)ch);
        } else {
            line[w++] = (char)ch;
        }
    }
    line[w++] = '\n';
    line[w] = '\0';
    if (zs_init(s, ".", KNOT_CLASS_IN, 0) != 0) {
        rc = MXG_ENOMEM;
        goto out;
    }
    scanning = true;
    if (zs_set_input_string(s, line, w) != 0 || zs_parse_record(s) != 0 ||
        s->state != ZS_STATE_DATA) {
        int code = s->error.code;
        if (s->state == ZS_STATE_ERROR && code != ZS_OK) {
            mxg_set_err(err, errlen, "invalid %s content: %s", tname, zs_strerror(code));
            rc = (code == ZS_RDATA_OVERFLOW) ? MXG_ERANGE : MXG_EINVAL;
        } else {
            mxg_set_err(err, errlen, "invalid %s content", tname);
            rc = MXG_EINVAL;
        }
    } else if (s->r_type != ptype) {
        mxg_set_err(err, errlen, "invalid %s content", tname);
        rc = MXG_EINVAL;
    } else {
        rc = mxg_rr_from_wire(num, s->r_data, s->r_data_length, out, outlen, err, errlen);
        if (rc == MXG_OK) {
            /* Exactly one record: nothing may follow it. */
            if (zs_parse_record(s) != 0 || s->state != ZS_STATE_EOF) {
                mxg_set_err(err, errlen, "invalid %s content: trailing data", tname);
                out[0] = '\0';
                rc = MXG_EINVAL;
            }
        }
    }
out:
    if (scanning) {
        zs_deinit(s);
    }
    free(line);
    free(quoted);
    return rc;
}

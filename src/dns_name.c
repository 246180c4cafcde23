/* dns_name.c -- DNS names: canonical, db and reversed-label key forms. Names are read and
 * written with pdns's own text grammar (DNSName in pdns 4.7), not libknot's, so that a name is
 * stored byte for byte as pdns's generic-SQL backends store it; libknot does the wire-form
 * comparisons. */
#include <string.h>

#include <libknot/libknot.h>

#include "mxg/dns.h"
#include "mxg/err.h"

/* Wire scratch size: a text name of at most MXG_NAME_TEXT_MAX characters never needs more. */
#define WIRE_SCRATCH (MXG_NAME_TEXT_MAX + 2)

/* Presentation form -> wire form in wire (WIRE_SCRATCH bytes), with pdns's grammar
 * (segmentDNSNameRaw in pdns 4.7): labels separated by '.', "\DDD" (exactly three digits, at most
 * 255) and "\X" (any other octet X) escapes, every other octet taken as it is -- so the raw
 * '(' ')' ';' '"' '@' '$' that pdns writes in names are plain label octets. "" and "." are the
 * root; a trailing dot is optional (relative names are taken as absolute); empty labels are
 * refused. Sets *wlen to the wire size. Returns 0, MXG_EINVAL or MXG_ERANGE (label over 63,
 * name over 255 octets, text over MXG_NAME_TEXT_MAX). */
static int text_to_wire(const char *in, uint8_t *wire, size_t *wlen)
{
    if (in == NULL) {
        return MXG_EINVAL;
    }
    size_t len = strlen(in);
    if (len > MXG_NAME_TEXT_MAX) {
        return MXG_ERANGE;
    }
    if (len == 0 || (len == 1 && in[0] == '.')) {
        wire[0] = 0;
        *wlen = 1;
        return MXG_OK;
    }
    const unsigned char *p = (const unsigned char *)in;
    size_t w = 0;
    while (*p != '\0') {
        if (*p == '.') {
            return MXG_EINVAL; /* empty label */
        }
        size_t lenpos = w++;
        size_t label = 0;
        while (*p != '\0' && *p != '.') {
            unsigned v = *p++;
            if (v == '\\') {
                if (*p == '\0') {
                    return MXG_EINVAL;
                }
                if (*p >= '0' && *p <= '9') {
                    if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9')) {
                        return MXG_EINVAL;
                    }
                    v = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
                        (unsigned)(p[2] - '0');
                    if (v > 255) {
                        return MXG_EINVAL;
                    }
                    p += 3;
                } else {
                    v = *p++;
                }
            }
            if (++label > MXG_LABEL_MAX || w + 1 >= MXG_NAME_WIRE_MAX) {
                return MXG_ERANGE; /* the root label needs the last octet */
            }
            wire[w++] = (uint8_t)v;
        }
        wire[lenpos] = (uint8_t)label;
        if (*p == '.') {
            p++;
        }
    }
    wire[w++] = 0;
    *wlen = w;
    return MXG_OK;
}

/* One label octet in pdns's form (DNSName::appendEscapedLabel): '.' and '\' escaped with a
 * backslash, other printable ASCII as it is, everything else as \DDD. Returns the length. */
static size_t octet_pdns(uint8_t c, char *out)
{
    if (c == '.' || c == '\\') {
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    }
    if (c > 0x20 && c < 0x7f) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '\\';
    out[1] = (char)('0' + c / 100);
    out[2] = (char)('0' + c / 10 % 10);
    out[3] = (char)('0' + c % 10);
    return 4;
}

/* One label octet safe in any master-file token: letters, digits, '-', '_', '*' and '/' as they
 * are, everything else as \DDD. Returns the length. */
static size_t octet_zonefile(uint8_t c, char *out)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '*' || c == '/') {
        out[0] = (char)c;
        return 1;
    }
    out[0] = '\\';
    out[1] = (char)('0' + c / 100);
    out[2] = (char)('0' + c / 10 % 10);
    out[3] = (char)('0' + c % 10);
    return 4;
}

/* Wire form (checked: labels <= 63, ends within wirelen) -> presentation form with trailing dot,
 * in pdns's form or the master-file-safe one. */
static int wire_to_text(const uint8_t *wire, size_t wirelen, bool zonefile, char *out,
                        size_t outlen)
{
    char text[MXG_NAME_TEXT_MAX + 1];
    size_t t = 0, pos = 0;

    if (out == NULL || outlen == 0) {
        return MXG_ERANGE;
    }
    if (wire == NULL || wirelen == 0) {
        return MXG_EINVAL;
    }
    while (wire[pos] != 0) {
        size_t label = wire[pos];
        if (label > MXG_LABEL_MAX || pos + 1 + label >= wirelen ||
            pos + 1 + label >= MXG_NAME_WIRE_MAX) {
            return MXG_EINVAL;
        }
        for (size_t i = 1; i <= label; i++) {
            /* 255 octets of wire are at most 4 * 250 + 4 characters: never over the scratch. */
            t += zonefile ? octet_zonefile(wire[pos + i], text + t)
                          : octet_pdns(wire[pos + i], text + t);
        }
        text[t++] = '.';
        pos += 1 + label;
    }
    if (t == 0) {
        text[t++] = '.';
    }
    if (t >= outlen) {
        return MXG_ERANGE;
    }
    memcpy(out, text, t);
    out[t] = '\0';
    return MXG_OK;
}

int mxg_name_canon(const char *in, char *out, size_t outlen)
{
    uint8_t wire[WIRE_SCRATCH];
    size_t wlen = 0;

    int rc = text_to_wire(in, wire, &wlen);
    if (rc != MXG_OK) {
        return rc;
    }
    knot_dname_to_lower(wire);
    return wire_to_text(wire, wlen, false, out, outlen);
}

int mxg_name_format(const char *in, enum mxg_name_style style, char *out, size_t outlen)
{
    uint8_t wire[WIRE_SCRATCH];
    size_t wlen = 0;

    if (style != MXG_NAME_PDNS && style != MXG_NAME_ZONEFILE) {
        return MXG_EINVAL;
    }
    int rc = text_to_wire(in, wire, &wlen);
    if (rc != MXG_OK) {
        return rc;
    }
    return wire_to_text(wire, wlen, style == MXG_NAME_ZONEFILE, out, outlen);
}

int mxg_name_from_wire(const uint8_t *wire, size_t wirelen, char *out, size_t outlen)
{
    uint8_t lower[MXG_NAME_WIRE_MAX];

    if (out == NULL || outlen == 0) {
        return MXG_ERANGE;
    }
    if (wire == NULL || wirelen == 0) {
        return MXG_EINVAL;
    }
    size_t n = wirelen < sizeof(lower) ? wirelen : sizeof(lower);
    memcpy(lower, wire, n);
    /* Checked by wire_to_text before anything is read past a label. cppcheck 2.10 takes n for
     * 0 after the memcpy above; it is wirelen capped at the buffer. */
    // cppcheck-suppress knownConditionTrueFalse
    for (size_t pos = 0; pos < n && lower[pos] != 0; pos += (size_t)lower[pos] + 1) {
        // cppcheck-suppress knownConditionTrueFalse
        for (size_t i = pos + 1; i <= pos + lower[pos] && i < n; i++) {
            if (lower[i] >= 'A' && lower[i] <= 'Z') {
                lower[i] = (uint8_t)(lower[i] - 'A' + 'a');
            }
        }
    }
    return wire_to_text(lower, n, false, out, outlen);
}

int mxg_name_to_db(const char *canon, char *out, size_t outlen)
{
    if (canon == NULL || out == NULL) {
        return MXG_ERANGE;
    }
    size_t len = strlen(canon);
    if (len > 0 && canon[len - 1] == '.') {
        len--;
    }
    if (len >= outlen) {
        return MXG_ERANGE;
    }
    memcpy(out, canon, len);
    out[len] = '\0';
    return MXG_OK;
}

bool mxg_name_is_below(const char *child, const char *parent)
{
    uint8_t cw[WIRE_SCRATCH], pw[WIRE_SCRATCH];
    size_t cl = 0, pl = 0;

    if (text_to_wire(child, cw, &cl) != MXG_OK || text_to_wire(parent, pw, &pl) != MXG_OK) {
        return false;
    }
    return knot_dname_in_bailiwick(cw, pw) >= 0;
}

int mxg_name_parent(const char *canon, char *out, size_t outlen)
{
    uint8_t wire[WIRE_SCRATCH];
    size_t wlen = 0;

    int rc = text_to_wire(canon, wire, &wlen);
    if (rc != MXG_OK) {
        return rc;
    }
    if (wire[0] == 0) {
        return MXG_ENOENT;
    }
    return wire_to_text(wire + wire[0] + 1, wlen - wire[0] - 1u, false, out, outlen);
}

int mxg_name_labels(const char *canon)
{
    uint8_t wire[WIRE_SCRATCH];
    size_t wlen = 0;

    int rc = text_to_wire(canon, wire, &wlen);
    if (rc != MXG_OK) {
        return rc;
    }
    return (int)knot_dname_labels(wire, NULL);
}

int mxg_name_to_wire_lower(const char *canon, uint8_t *out, size_t outlen, size_t *len)
{
    uint8_t wire[WIRE_SCRATCH];
    size_t wlen = 0;
    int rc = text_to_wire(canon, wire, &wlen);
    if (rc != MXG_OK)
        return rc;
    if (wlen > outlen)
        return MXG_ERANGE;
    knot_dname_to_lower(wire);
    memcpy(out, wire, wlen);
    *len = wlen;
    return MXG_OK;
}

int mxg_name_rkey(const char *canon, uint8_t *out, size_t outlen, size_t *keylen)
{
    uint8_t wire[WIRE_SCRATCH];
    size_t wlen = 0;
    size_t starts[MXG_NAME_WIRE_MAX];
    size_t nlabels = 0;

    if (out == NULL || keylen == NULL) {
        return MXG_EINVAL;
    }
    int rc = text_to_wire(canon, wire, &wlen);
    if (rc != MXG_OK) {
        return rc;
    }
    knot_dname_to_lower(wire);
    for (size_t pos = 0; wire[pos] != 0; pos += (size_t)wire[pos] + 1) {
        starts[nlabels++] = pos;
    }

    size_t k = 0;
    for (size_t i = nlabels; i-- > 0;) {
        const uint8_t *label = wire + starts[i];
        for (size_t j = 1; j <= label[0]; j++) {
            uint8_t c = label[j];
            if (c <= 0x01) {
                /* 0x00 -> 01 01, 0x01 -> 01 02: order-preserving, keeps 0x00 free. */
                if (k + 2 > outlen) {
                    return MXG_ERANGE;
                }
                out[k++] = 0x01;
                out[k++] = (uint8_t)(c + 1);
            } else {
                if (k + 1 > outlen) {
                    return MXG_ERANGE;
                }
                out[k++] = c;
            }
        }
        if (k + 1 > outlen) {
            return MXG_ERANGE;
        }
        out[k++] = 0x00;
    }
    *keylen = k;
    return MXG_OK;
}

/* dns_name.c -- DNS names: canonical, db and reversed-label key forms (on top of libknot). */
#include <string.h>

#include <libknot/libknot.h>

#include "mxg/dns.h"
#include "mxg/err.h"

/* Wire scratch size: a text name of at most MXG_NAME_TEXT_MAX characters never needs more. */
#define WIRE_SCRATCH (MXG_NAME_TEXT_MAX + 2)

/* Whether a presentation-form name has a label over 63 octets or more than 255 octets of wire
 * form (escapes decoded). Used only to classify a name libknot refused: too long is MXG_ERANGE,
 * anything else MXG_EINVAL. */
static bool name_too_long(const char *in)
{
    size_t cur = 0, total = 1; /* the root label */
    bool over = false;

    for (const char *p = in; *p != '\0'; p++) {
        if (*p == '.') {
            over = over || cur > MXG_LABEL_MAX;
            total += cur > 0 ? cur + 1 : 0;
            cur = 0;
            continue;
        }
        if (*p == '\\' && p[1] != '\0') {
            if (p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' && p[3] >= '0' &&
                p[3] <= '9') {
                p += 3;
            } else {
                p++;
            }
        }
        cur++;
    }
    over = over || cur > MXG_LABEL_MAX;
    total += cur > 0 ? cur + 1 : 0;
    return over || total > MXG_NAME_WIRE_MAX;
}

/* Presentation form (any case, relative taken as absolute) -> wire form in wire (WIRE_SCRATCH
 * bytes). Sets *wlen to the wire size. */
static int text_to_wire(const char *in, uint8_t *wire, size_t *wlen)
{
    if (in == NULL) {
        return MXG_EINVAL;
    }
    size_t len = strlen(in);
    if (len > MXG_NAME_TEXT_MAX) {
        return MXG_ERANGE;
    }
    if (len == 0) {
        wire[0] = 0;
        *wlen = 1;
        return MXG_OK;
    }
    if (knot_dname_from_str(wire, in, WIRE_SCRATCH) == NULL) {
        return name_too_long(in) ? MXG_ERANGE : MXG_EINVAL;
    }
    /* libknot stops at 255 octets itself; measure anyway, bounded. */
    size_t pos = 0;
    while (pos < WIRE_SCRATCH && wire[pos] != 0) {
        pos += (size_t)wire[pos] + 1;
    }
    if (pos >= WIRE_SCRATCH) {
        return MXG_ERANGE;
    }
    *wlen = pos + 1;
    if (*wlen > MXG_NAME_WIRE_MAX) {
        return MXG_ERANGE;
    }
    return MXG_OK;
}

/* Wire form -> presentation form with trailing dot. */
static int wire_to_text(const uint8_t *wire, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0) {
        return MXG_ERANGE;
    }
    char text[MXG_NAME_TEXT_MAX + 1];
    if (knot_dname_to_str(text, wire, sizeof(text)) == NULL) {
        return MXG_EINVAL;
    }
    size_t len = strlen(text);
    if (len >= outlen) {
        return MXG_ERANGE;
    }
    memcpy(out, text, len + 1);
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
    return wire_to_text(wire, out, outlen);
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
    return wire_to_text(wire + wire[0] + 1, out, outlen);
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

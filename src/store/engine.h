/* engine.h -- what every store engine shares: conversions between pdns's generic-SQL columns
 * and the store interface (names, MX/SRV priorities, SOA serials), and the keys of mxguard's own
 * name and target indexes. Engines include this and store.h's types; they never call the facade
 * (store.c), which only picks an engine. */
#ifndef MXG_STORE_ENGINE_H
#define MXG_STORE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mxg/dns.h"
#include "mxg/store.h"

/* Room for a reversed-label key (dns.h's mxg_name_rkey) and its range bounds. */
#define MXG_RKEY_MAX (MXG_NAME_WIRE_MAX * 2 + 2)

/* "www.example.com" (a names column) -> "www.example.com." (canonical); lowercases. */
void mxg_engine_db_to_canon(const char *db, char *out, size_t outlen);

/* The serial of SOA content ("mname rname serial ..."); *ok false when it has none. */
int64_t mxg_engine_soa_serial(const char *content, bool *ok);

/* A zone from a domains row; soa is the apex SOA's content or NULL for a zone without one. */
void mxg_engine_zone(struct mxg_zone *z, int64_t id, const char *name_db, const char *type,
                     const char *master, int64_t last_check, int64_t notified, const char *soa);

/* MX and SRV keep their priority in the prio column. */
bool mxg_engine_has_prio(const char *type);

/* Splits content for the records table: for MX/SRV, "10 mail.example.com." into *prio 10 and
 * *rest "mail.example.com."; otherwise *prio -1 and *rest content. MXG_EINVAL: no priority. */
int mxg_engine_split_prio(const char *type, const char *content, long long *prio,
                          const char **rest);

/* Calls cb with the record of one row: type NULL is an empty non-terminal ("ENT"); has_prio
 * and prio the prio column; auth_null / auth the auth column (NULL reads as true). */
int mxg_engine_emit(const char *name, const char *type, const char *content, int64_t ttl,
                    bool has_prio, int64_t prio, bool auth, int64_t zone_id, mxg_record_cb cb,
                    void *ctx);

/* The record types whose target mxg_targets keeps: MX, CNAME, ALIAS, DNAME. */
bool mxg_engine_target_type(const char *type);

/* The canonical target and its reversed-label key, from content as the records table holds it
 * (MX without its priority). MXG_ENOENT when there is nothing to index: content that is no name,
 * or the root (a null MX). */
int mxg_engine_target_key(const char *content, char *canon, size_t canonlen, uint8_t *key,
                          size_t *klen);

/* The key range [lo, hi) of name and every name below it: lo is name's key, hi the same key
 * with its last terminator 0x00 raised to 0x01; for the root (empty key) hi is 64 bytes 0xff,
 * above every key (a first label has at most 63 bytes and then its terminator). Both buffers
 * hold MXG_RKEY_MAX bytes. MXG_EINVAL when name does not parse. */
int mxg_engine_rkey_range(const char *name, uint8_t *lo, size_t *llen, uint8_t *hi, size_t *hlen);

/* One side of a mxg_changes row as text columns (NULL: SQL NULL), in the shared layout
 * (sqlite.c describes it). */
struct mxg_engine_change_cols {
    const char *name, *type, *content, *ttl, *prio, *disabled;
};

/* Calls cb with the change of one mxg_changes row: names made canonical, record content in pdns
 * form, key content left out. */
int mxg_engine_change(int64_t id, const char *time, const char *tbl, const char *op,
                      int64_t domain_id, int64_t commit, const struct mxg_engine_change_cols *old,
                      const struct mxg_engine_change_cols *new_, mxg_change_cb cb, void *ctx);

/* Mapping of interface kinds to the domains.type column. */
const char *mxg_engine_kind_column(enum mxg_zone_kind kind);

#endif

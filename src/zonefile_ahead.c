/* zonefile_ahead.c -- a zone file read on a thread of its own, a few batches ahead.
 *
 * Reading a zone file (libzscanner, and each record's rdata rendered as pdns content) costs
 * about as much as what an import does with the records. mxg_zonefile_parse_ahead reads on a
 * second thread and hands the records over in batches; the callback runs on the caller's
 * thread, in file order, as with mxg_zonefile_parse. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mxg/dns.h"
#include "mxg/err.h"
#include "mxg/strbuf.h"

/* Records per batch, and batches in flight (the reader is at most this far ahead). */
#define AHEAD_RECORDS 1024
#define AHEAD_BATCHES 3

struct ahead_rec {
    size_t owner, type, content, file; /* offsets into the batch's text */
    uint32_t ttl;
    unsigned long line;
};

struct ahead_batch {
    struct ahead_rec recs[AHEAD_RECORDS];
    size_t n;
    struct mxg_strbuf text; /* the records' strings, each with its NUL */
};

struct ahead {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct ahead_batch batches[AHEAD_BATCHES];
    /* Batch i is full when ready[i]; the reader fills fill, the caller takes take. */
    bool ready[AHEAD_BATCHES];
    size_t fill, take;
    bool stop;     /* the caller wants no more (its callback failed) */
    bool finished; /* the reader is done: rc and err are its result */
    int rc;
    /* the reader's */
    const char *path, *origin;
    uint32_t ttl;
    char err[1024];
};

static size_t put_text(struct ahead_batch *b, const char *s)
{
    size_t off = b->text.len;
    mxg_strbuf_put(&b->text, s, strlen(s) + 1);
    return off;
}

/* Hands the batch being filled to the caller and waits for the next one to be free. A
 * non-zero return stops the reader: the caller wants no more. */
static int hand_over(struct ahead *a)
{
    pthread_mutex_lock(&a->lock);
    a->ready[a->fill] = true;
    pthread_cond_broadcast(&a->cond);
    a->fill = (a->fill + 1) % AHEAD_BATCHES;
    while (a->ready[a->fill] && !a->stop)
        pthread_cond_wait(&a->cond, &a->lock);
    bool stop = a->stop;
    pthread_mutex_unlock(&a->lock);
    if (stop)
        return MXG_EBUSY;
    struct ahead_batch *b = &a->batches[a->fill];
    b->n = 0;
    b->text.len = 0;
    return MXG_OK;
}

static int reader_record(void *ctx, const struct mxg_zf_record *rec)
{
    struct ahead *a = ctx;
    struct ahead_batch *b = &a->batches[a->fill];
    struct ahead_rec *r = &b->recs[b->n];
    r->owner = put_text(b, rec->owner);
    r->type = put_text(b, rec->type);
    r->content = put_text(b, rec->content);
    r->file = put_text(b, rec->file);
    if (b->text.failed)
        return MXG_ENOMEM;
    r->ttl = rec->ttl;
    r->line = rec->line;
    if (++b->n < AHEAD_RECORDS)
        return MXG_OK;
    return hand_over(a);
}

static void *reader(void *arg)
{
    struct ahead *a = arg;
    int rc =
        mxg_zonefile_parse(a->path, a->origin, a->ttl, reader_record, a, a->err, sizeof(a->err));
    pthread_mutex_lock(&a->lock);
    if (a->batches[a->fill].n > 0 && !a->stop)
        a->ready[a->fill] = true; /* the last, partial batch */
    a->finished = true;
    a->rc = rc;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* The callback on each record of the next batch; false when the reader has finished and
 * everything it read was taken. */
static bool next_batch(struct ahead *a, mxg_zf_cb cb, void *ctx, int *rc)
{
    pthread_mutex_lock(&a->lock);
    while (!a->ready[a->take] && !a->finished)
        pthread_cond_wait(&a->cond, &a->lock);
    bool have = a->ready[a->take];
    pthread_mutex_unlock(&a->lock);
    if (!have)
        return false;
    struct ahead_batch *b = &a->batches[a->take];
    const char *text = b->text.p;
    for (size_t i = 0; *rc == MXG_OK && i < b->n; i++) {
        const struct ahead_rec *r = &b->recs[i];
        struct mxg_zf_record rec = {.owner = text + r->owner,
                                    .type = text + r->type,
                                    .ttl = r->ttl,
                                    .content = text + r->content,
                                    .line = r->line,
                                    .file = text + r->file};
        *rc = cb(ctx, &rec);
    }
    pthread_mutex_lock(&a->lock);
    a->ready[a->take] = false;
    a->take = (a->take + 1) % AHEAD_BATCHES;
    if (*rc != MXG_OK)
        a->stop = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    return *rc == MXG_OK;
}

int mxg_zonefile_parse_ahead(const char *path, const char *origin, uint32_t default_ttl,
                             mxg_zf_cb cb, void *ctx, char *err, size_t errlen)
{
    if (path == NULL || cb == NULL)
        return mxg_zonefile_parse(path, origin, default_ttl, cb, ctx, err, errlen);
    struct ahead *a = calloc(1, sizeof(*a));
    if (!a)
        return MXG_ENOMEM;
    a->path = path;
    a->origin = origin;
    a->ttl = default_ttl;
    pthread_t tid;
    bool sync_ok = pthread_mutex_init(&a->lock, NULL) == 0;
    if (sync_ok && pthread_cond_init(&a->cond, NULL) != 0) {
        pthread_mutex_destroy(&a->lock);
        sync_ok = false;
    }
    if (!sync_ok || pthread_create(&tid, NULL, reader, a) != 0) {
        /* No second thread: read on this one. */
        if (sync_ok) {
            pthread_cond_destroy(&a->cond);
            pthread_mutex_destroy(&a->lock);
        }
        free(a);
        return mxg_zonefile_parse(path, origin, default_ttl, cb, ctx, err, errlen);
    }
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    int rc = MXG_OK;
    while (next_batch(a, cb, ctx, &rc)) {
    }
    if (rc != MXG_OK) {
        /* The callback's failure ends it, as it ends mxg_zonefile_parse: the reader stops at
         * its next batch. The callback wrote its own message. */
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_broadcast(&a->cond);
        pthread_mutex_unlock(&a->lock);
    }
    pthread_join(tid, NULL);
    if (rc == MXG_OK && a->rc != MXG_OK) {
        rc = a->rc;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s", a->err);
    }
    for (size_t i = 0; i < AHEAD_BATCHES; i++)
        free(a->batches[i].text.p);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    free(a);
    return rc;
}

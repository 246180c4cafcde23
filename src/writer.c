/* writer.c -- the commit writer: one job at a time on libuv's thread pool (see writer.h). */
#include <stdlib.h>

#include <uv.h>

#include "mxg/writer.h"

struct job {
    uv_work_t work;
    struct mxg_writer *w;
    void (*fn)(void *arg);
    void (*done)(void *arg, bool ran);
    void *arg;
    struct job *next;
};

struct mxg_writer {
    uv_loop_t *loop;
    struct job *running;
    struct job *head, *tail;
};

struct mxg_writer *mxg_writer_new(struct uv_loop_s *loop)
{
    struct mxg_writer *w = calloc(1, sizeof(*w));
    if (w)
        w->loop = loop;
    return w;
}

void mxg_writer_free(struct mxg_writer *w)
{
    if (!w)
        return;
    while (w->head) {
        struct job *j = w->head;
        w->head = j->next;
        free(j);
    }
    free(w);
}

static void start_next(struct mxg_writer *w);

static void job_work(uv_work_t *req)
{
    struct job *j = req->data;
    j->fn(j->arg);
}

static void finish(struct job *j, bool ran)
{
    struct mxg_writer *w = j->w;
    j->done(j->arg, ran);
    free(j);
    w->running = NULL;
    start_next(w);
}

static void job_done(uv_work_t *req, int status)
{
    finish(req->data, status == 0);
}

static void start_next(struct mxg_writer *w)
{
    while (!w->running && w->head) {
        struct job *j = w->head;
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        w->running = j;
        j->work.data = j;
        /* A live loop never refuses; if it does, the job fails rather than hangs. */
        if (uv_queue_work(w->loop, &j->work, job_work, job_done) != 0)
            finish(j, false);
    }
}

int mxg_writer_submit(struct mxg_writer *w, void (*work)(void *arg),
                      void (*done)(void *arg, bool ran), void *arg)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return MXG_ENOMEM;
    *j = (struct job){.w = w, .fn = work, .done = done, .arg = arg};
    if (w->running) {
        if (w->tail)
            w->tail->next = j;
        else
            w->head = j;
        w->tail = j;
        return MXG_OK;
    }
    /* Idle (so nothing waits): start it now, and never call done from inside this call. */
    w->running = j;
    j->work.data = j;
    if (uv_queue_work(w->loop, &j->work, job_work, job_done) != 0) {
        w->running = NULL;
        free(j);
        return MXG_EIO;
    }
    return MXG_OK;
}

bool mxg_writer_busy(const struct mxg_writer *w)
{
    return w->running != NULL || w->head != NULL;
}

/* writer.h -- the commit writer: jobs run one at a time, in order, on libuv's thread pool.
 *
 * A job's work runs on a pool thread; its done then runs on the loop thread, and only after
 * that does the next job start. Lookups keep being answered on the loop meanwhile. The writer
 * does not know what a job is (backend.c queues commits and out-of-band passes). */
#ifndef MXG_WRITER_H
#define MXG_WRITER_H

#include <stdbool.h>

#include "mxg/err.h"

struct uv_loop_s;
struct mxg_writer;

/* Borrows loop, which must outlive the writer. NULL on allocation failure. */
struct mxg_writer *mxg_writer_new(struct uv_loop_s *loop);

/* Frees the writer; jobs still queued are dropped without their done (the loop has stopped:
 * call it after uv_run returned). NULL is fine. */
void mxg_writer_free(struct mxg_writer *w);

/* Queues a job: work(arg) on a pool thread after every job queued before it, then done(arg,
 * ran) on the loop thread (ran false: the pool refused the job and work never ran). MXG_OK; or
 * MXG_ENOMEM or MXG_EIO (the pool refused it) with nothing queued. done is never called from
 * inside this call; it may queue further jobs. */
MXG_MUST_CHECK int mxg_writer_submit(struct mxg_writer *w, void (*work)(void *arg),
                                     void (*done)(void *arg, bool ran), void *arg);

/* True while a job runs or waits. */
bool mxg_writer_busy(const struct mxg_writer *w);

#endif

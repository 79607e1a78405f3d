// SPDX-License-Identifier: Apache-2.0
/*
 * exec.c - the client side of exec: streaming sessions over the control
 * socket, and msb_exec_collect() built on them. Frames from the supervisor
 * are parsed with the same bounds-checked decoder as everything else.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>

#include "msb.h"
#include "proto.h"
#include "sandbox.h"

#define EXEC_SID 1

struct msb_exec {
	int fd;
	struct proto_reader rd;
	struct proto_msg *msg;
	bool pending; /* msg holds a frame still in rd's buffer */
	bool done;
	char text[1024];
};

static int send_enc(struct msb_exec *ex, struct proto_enc *e, msb_error *err)
{
	int r = proto_write_enc(ex->fd, e);
	if (r < 0)
		return msb_err_sys(err, -r, "writing to the sandbox");
	return 0;
}

static void consume(struct msb_exec *ex)
{
	if (ex->pending) {
		proto_reader_consume(&ex->rd, ex->msg);
		ex->pending = false;
	}
}

/* Next frame for our session; 1 = got one, 0 = timeout. */
static int next_frame(struct msb_exec *ex, int timeout_ms, msb_error *err)
{
	uint64_t until = timeout_ms < 0 ? 0 : util_now_ms() + (uint64_t)timeout_ms;
	consume(ex);
	for (;;) {
		int r = proto_reader_next(&ex->rd, ex->msg);
		long n;
		if (r < 0)
			return msb_err_set(err, MSB_ERR_PROTOCOL, 0, "malformed frame from the supervisor");
		if (r == 1) {
			ex->pending = true;
			return 1;
		}
		if (timeout_ms >= 0) {
			uint64_t now = util_now_ms();
			struct pollfd p = {.fd = ex->fd, .events = POLLIN};
			if (poll(&p, 1, now >= until ? 0 : (int)(until - now)) == 0)
				return 0;
		}
		n = proto_reader_fill(&ex->rd, ex->fd);
		if (n == 0)
			return msb_err_set(err, MSB_ERR_STATE, 0, "the sandbox stopped while the command was running");
		if (n < 0 && n != -EINTR && n != -EAGAIN)
			return msb_err_sys(err, (int)-n, "reading from the sandbox");
	}
}

static void encode_request(struct proto_enc *e, const struct msb_exec_opts *o)
{
	proto_enc_begin(e, PROTO_EXEC, EXEC_SID);
	for (size_t i = 0; i < o->argc; i++)
		proto_enc_str(e, T_ARG, o->argv[i]);
	for (size_t i = 0; i < o->n_env; i++)
		proto_enc_str(e, T_ENV, o->env[i]);
	if (o->cwd)
		proto_enc_str(e, T_CWD, o->cwd);
	if (o->user)
		proto_enc_str(e, T_USER, o->user);
	if (o->tty) {
		proto_enc_bytes(e, T_TTY, NULL, 0);
		proto_enc_u32(e, T_ROWS, o->rows ? o->rows : 24);
		proto_enc_u32(e, T_COLS, o->cols ? o->cols : 80);
	}
	if (o->stdin_null)
		proto_enc_bytes(e, T_STDIN_NULL, NULL, 0);
	for (size_t i = 0; i < o->n_rlimits; i++) {
		uint8_t b[20];
		uint32_t res = (uint32_t)o->rlimits[i].resource;
		for (int k = 0; k < 4; k++)
			b[k] = (uint8_t)(res >> (24 - 8 * k));
		for (int k = 0; k < 8; k++) {
			b[4 + k] = (uint8_t)(o->rlimits[i].soft >> (56 - 8 * k));
			b[12 + k] = (uint8_t)(o->rlimits[i].hard >> (56 - 8 * k));
		}
		proto_enc_bytes(e, T_RLIMIT, b, sizeof(b));
	}
	proto_enc_end(e);
}

static int fail_from_frame(struct msb_exec *ex, const char *argv0, msb_error *err)
{
	char stage[64] = "exec", msg[900] = "";
	int32_t e = 0;
	proto_get_i32(ex->msg, T_ERRNO, &e);
	proto_get_str(ex->msg, T_STAGE, stage, sizeof(stage));
	proto_get_str(ex->msg, T_MSG, msg, sizeof(msg));
	if (ex->msg->hdr.type == PROTO_ERROR)
		return msb_err_set(err, MSB_ERR_STATE, 0, "%s", msg[0] ? msg : "the sandbox refused the command");
	return msb_err_set(err, MSB_ERR_EXEC, e, "failed to exec \"%s\": %s: %s", argv0, stage, msg);
}

MSB_EXPORT int msb_exec_start(msb_ctx *ctx, const char *name, const struct msb_exec_opts *opts, msb_exec **out,
			      msb_error *err)
{
	struct proto_enc e = {0};
	struct msb_exec *ex;
	int r;

	if (!opts || opts->argc == 0 || !opts->argv[0] || !opts->argv[0][0])
		return msb_err_set(err, MSB_ERR_INVALID, 0, "no command given");
	r = sandbox_ctl_connect(ctx, name, err);
	if (r < 0)
		return r;
	ex = xcalloc(1, sizeof(*ex));
	ex->fd = r;
	ex->msg = xmalloc(sizeof(*ex->msg));
	encode_request(&e, opts);
	r = send_enc(ex, &e, err);
	proto_enc_free(&e);
	while (r == 0) {
		r = next_frame(ex, -1, err);
		if (r < 0)
			break;
		if (ex->msg->hdr.type == PROTO_STARTED)
			break;
		if (ex->msg->hdr.type == PROTO_FAILED || ex->msg->hdr.type == PROTO_ERROR) {
			r = fail_from_frame(ex, opts->argv[0], err);
			break;
		}
	}
	if (r < 0) {
		msb_exec_free(ex);
		return r;
	}
	consume(ex);
	*out = ex;
	return 0;
}

MSB_EXPORT int msb_exec_fd(const msb_exec *ex)
{
	return ex->fd;
}

MSB_EXPORT int msb_exec_next(msb_exec *ex, struct msb_exec_event *ev, int timeout_ms, msb_error *err)
{
	memset(ev, 0, sizeof(*ev));
	if (ex->done)
		return msb_err_set(err, MSB_ERR_STATE, 0, "the command has already ended");
	for (;;) {
		const struct proto_field *f;
		int32_t v;
		int r = next_frame(ex, timeout_ms, err);
		if (r <= 0)
			return r;
		switch (ex->msg->hdr.type) {
		case PROTO_STDOUT:
		case PROTO_STDERR:
			f = proto_get(ex->msg, T_DATA);
			if (!f)
				continue;
			ev->type = ex->msg->hdr.type == PROTO_STDOUT ? MSB_EV_STDOUT : MSB_EV_STDERR;
			ev->data = f->val;
			ev->len = f->len;
			return 1;
		case PROTO_EXITED:
			ev->type = MSB_EV_EXITED;
			if (proto_get_i32(ex->msg, T_CODE, &v) == 0)
				ev->exit_code = v;
			if (proto_get_i32(ex->msg, T_SIGNAL, &v) == 0)
				ev->signal = v;
			if (ev->signal)
				ev->exit_code = 128 + ev->signal;
			ex->done = true;
			return 1;
		case PROTO_ERROR:
			ex->done = true;
			proto_get_str(ex->msg, T_MSG, ex->text, sizeof(ex->text));
			return msb_err_set(err, MSB_ERR_PROTOCOL, 0, "sandbox error: %s", ex->text);
		default:
			continue;
		}
	}
}

static int send_simple(msb_exec *ex, uint16_t type, msb_error *err, void (*fill)(struct proto_enc *, const void *),
		       const void *arg)
{
	struct proto_enc e = {0};
	int r;
	proto_enc_begin(&e, type, EXEC_SID);
	if (fill)
		fill(&e, arg);
	proto_enc_end(&e);
	r = send_enc(ex, &e, err);
	proto_enc_free(&e);
	return r;
}

MSB_EXPORT int msb_exec_write_stdin(msb_exec *ex, const void *data, size_t len, msb_error *err)
{
	const uint8_t *p = data;
	while (len) {
		struct proto_enc e = {0};
		size_t n = len > PROTO_CHUNK ? PROTO_CHUNK : len;
		int r;
		proto_enc_begin(&e, PROTO_STDIN, EXEC_SID);
		proto_enc_bytes(&e, T_DATA, p, n);
		proto_enc_end(&e);
		r = send_enc(ex, &e, err);
		proto_enc_free(&e);
		if (r < 0)
			return r;
		p += n;
		len -= n;
	}
	return 0;
}

static void fill_empty_data(struct proto_enc *e, const void *arg)
{
	(void)arg;
	proto_enc_bytes(e, T_DATA, NULL, 0);
}

MSB_EXPORT int msb_exec_close_stdin(msb_exec *ex, msb_error *err)
{
	return send_simple(ex, PROTO_STDIN, err, fill_empty_data, NULL);
}

static void fill_resize(struct proto_enc *e, const void *arg)
{
	const unsigned short *rc = arg;
	proto_enc_u32(e, T_ROWS, rc[0]);
	proto_enc_u32(e, T_COLS, rc[1]);
}

MSB_EXPORT int msb_exec_resize(msb_exec *ex, unsigned short rows, unsigned short cols, msb_error *err)
{
	unsigned short rc[2] = {rows, cols};
	return send_simple(ex, PROTO_RESIZE, err, fill_resize, rc);
}

static void fill_signal(struct proto_enc *e, const void *arg)
{
	proto_enc_i32(e, T_SIGNAL, *(const int *)arg);
}

MSB_EXPORT int msb_exec_signal(msb_exec *ex, int sig, msb_error *err)
{
	if (sig <= 0 || sig >= 65)
		return msb_err_set(err, MSB_ERR_INVALID, 0, "invalid signal %d", sig);
	return send_simple(ex, PROTO_SIGNAL, err, fill_signal, &sig);
}

MSB_EXPORT void msb_exec_free(msb_exec *ex)
{
	if (!ex)
		return;
	if (ex->fd >= 0)
		close(ex->fd);
	proto_reader_free(&ex->rd);
	free(ex->msg);
	free(ex);
}

MSB_EXPORT void msb_exec_result_clear(struct msb_exec_result *res)
{
	free(res->out);
	free(res->errout);
	memset(res, 0, sizeof(*res));
}

MSB_EXPORT int msb_exec_collect(msb_ctx *ctx, const char *name, const struct msb_exec_opts *opts,
				const void *stdin_data, size_t stdin_len, uint64_t timeout_ms,
				struct msb_exec_result *res, msb_error *err)
{
	struct msb_exec_opts o = *opts;
	struct buf out = {0}, eo = {0};
	struct msb_exec_event ev;
	uint64_t deadline = timeout_ms ? util_now_ms() + timeout_ms : 0;
	msb_exec *ex;
	bool killed = false;
	int r;

	memset(res, 0, sizeof(*res));
	if (!stdin_data)
		o.stdin_null = 1;
	r = msb_exec_start(ctx, name, &o, &ex, err);
	if (r < 0)
		return r;
	if (stdin_data) {
		r = msb_exec_write_stdin(ex, stdin_data, stdin_len, err);
		if (r == 0)
			r = msb_exec_close_stdin(ex, err);
	}
	while (r >= 0) {
		int wait = -1;
		if (deadline) {
			uint64_t now = util_now_ms();
			wait = now >= deadline ? 0 : (int)(deadline - now);
		}
		r = msb_exec_next(ex, &ev, wait, err);
		if (r == 0) { /* deadline: kill, then give it up to 5 s to report */
			if (killed) {
				r = msb_err_set(err, MSB_ERR_TIMEOUT, 0, "command did not exit after SIGKILL");
				break;
			}
			msb_exec_signal(ex, SIGKILL, NULL);
			killed = true;
			deadline = util_now_ms() + 5000;
			continue;
		}
		if (r < 0)
			break;
		if (ev.type == MSB_EV_STDOUT)
			buf_append(&out, ev.data, ev.len);
		else if (ev.type == MSB_EV_STDERR)
			buf_append(&eo, ev.data, ev.len);
		else if (ev.type == MSB_EV_EXITED) {
			res->exit_code = ev.exit_code;
			res->signal = ev.signal;
			break;
		}
	}
	msb_exec_free(ex);
	buf_append(&out, "", 0);
	buf_append(&eo, "", 0);
	res->out = out.data;
	res->out_len = out.len;
	res->errout = eo.data;
	res->err_len = eo.len;
	if (r >= 0 && killed)
		r = msb_err_set(err, MSB_ERR_TIMEOUT, 0, "command timed out after %llus",
				(unsigned long long)(timeout_ms / 1000));
	return r < 0 ? r : 0;
}

/* SPDX-License-Identifier: ISC */
/* The binary protocol as pure functions: a request into bytes, bytes into a reply. No I/O,
 * no allocation: fuzz/frames.c drives the decoder with any bytes, split anywhere. Every
 * length in a reply is checked against the frame and against what the request allows. */
#include <string.h>

#include "mcr.h"

#include <memcached/protocol_binary.h>

static const uint8_t opcodes[] = {
    [MCR_GET] = PROTOCOL_BINARY_CMD_GET,       [MCR_SET] = PROTOCOL_BINARY_CMD_SET,
    [MCR_ADD] = PROTOCOL_BINARY_CMD_ADD,       [MCR_REPLACE] = PROTOCOL_BINARY_CMD_REPLACE,
    [MCR_APPEND] = PROTOCOL_BINARY_CMD_APPEND, [MCR_PREPEND] = PROTOCOL_BINARY_CMD_PREPEND,
    [MCR_DELETE] = PROTOCOL_BINARY_CMD_DELETE, [MCR_STATS] = PROTOCOL_BINARY_CMD_STAT,
    [MCR_TTL] = PROTOCOL_BINARY_CMD_GET,       [MCR_HAS] = PROTOCOL_BINARY_CMD_GET, /* sent as mg */
};

uint8_t
mcr_opcode(enum mcr_op op)
{
	return opcodes[op];
}

static void
put16(char *p, uint16_t v)
{
	p[0] = (char)(v >> 8);
	p[1] = (char)v;
}

static void
put32(char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (char)v;
}

static void
put64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (char)v;
}

static uint64_t
get(const char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | (uint8_t)p[i];
	return v;
}

static size_t
extras(enum mcr_op op)
{
	return op == MCR_SET || op == MCR_ADD || op == MCR_REPLACE ? 8 : 0;
}

static size_t
value_len(const struct mcr_req *r)
{
	return r->op == MCR_GET || r->op == MCR_DELETE || r->op == MCR_STATS ? 0 : r->vlen;
}

/* The key as sent: the namespace and the key; none for stats. */
static size_t
key_len(const struct mcr_req *r, size_t nslen)
{
	return r->op == MCR_STATS ? 0 : nslen + r->klen;
}

size_t
mcr_frame_size(const struct mcr_req *r, size_t nslen)
{
	return MCR_HDR + extras(r->op) + key_len(r, nslen) + value_len(r);
}

static void
header(char *h, uint8_t op, size_t klen, size_t elen, size_t vlen, uint32_t opaque, uint64_t cas)
{
	memset(h, 0, MCR_HDR);
	h[0] = (char)PROTOCOL_BINARY_REQ;
	h[1] = (char)op;
	put16(h + 2, (uint16_t)klen);
	h[4] = (char)elen;
	put32(h + 8, (uint32_t)(elen + klen + vlen));
	put32(h + 12, opaque);
	put64(h + 16, cas);
}

/* out: mcr_frame_size() bytes. The caller checked the key (1 to 250 bytes with the
 * namespace) and the value (under 4 GiB with the header). */
void
mcr_frame_encode(char *out, const struct mcr_req *r, const char *ns, size_t nslen, uint32_t opaque)
{
	size_t elen = extras(r->op), vlen = value_len(r), klen = key_len(r, nslen);

	header(out, opcodes[r->op], klen, elen, vlen, opaque, r->cas);
	out += MCR_HDR;
	if (elen) {
		put32(out, r->flags);
		put32(out + 4, r->exptime);
		out += elen;
	}
	if (klen && nslen)
		memcpy(out, ns, nslen);
	if (klen)
		memcpy(out + nslen, r->key, r->klen);
	if (vlen)
		memcpy(out + klen, r->val, vlen);
}

/* SASL PLAIN: "\0user\0password". Returns the frame's length (at most size). */
size_t
mcr_frame_sasl(char *out, size_t size, const char *user, const char *password)
{
	size_t ul = strlen(user), pl = strlen(password), vlen = ul + pl + 2;

	if (MCR_HDR + 5 + vlen > size)
		return 0;
	header(out, PROTOCOL_BINARY_CMD_SASL_AUTH, 5, 0, vlen, 0, 0);
	memcpy(out + MCR_HDR, "PLAIN", 5);
	out[MCR_HDR + 5] = '\0';
	memcpy(out + MCR_HDR + 6, user, ul);
	out[MCR_HDR + 6 + ul] = '\0';
	memcpy(out + MCR_HDR + 7 + ul, password, pl);
	return MCR_HDR + 5 + vlen;
}

/* One reply at p[0..len): its length, 0 when more bytes are needed, or -1 and *why (a
 * static string) when p is not a reply this client can accept. body_max bounds the body:
 * the caller knows what its request allows. */
long
mcr_frame_decode(const char *p, size_t len, size_t body_max, struct mcr_frame *f, const char **why)
{
	static char text[100];
	size_t body;

	if (len == 0)
		return 0;
	if ((uint8_t)p[0] != PROTOCOL_BINARY_RES) {
		/* a line of text, such as memcached's refusal at its connection limit: say it, do
		 * not read it as a header (its "length" would ask for gigabytes) */
		size_t k;
		const char *nl = memchr(p, '\n', len);
		if (!nl && len < 60)
			return 0;
		memcpy(text, "the server answered in text: ", 29);
		for (k = 0; k < len && k < 60 && p[k] != '\r' && p[k] != '\n'; k++)
			text[29 + k] = (uint8_t)p[k] < 0x20 || (uint8_t)p[k] >= 0x7f ? '?' : p[k];
		text[29 + k] = '\0';
		*why = text;
		return -1;
	}
	if (len < MCR_HDR)
		return 0;
	f->opcode = (uint8_t)p[1];
	f->klen = get(p + 2, 2);
	f->elen = (uint8_t)p[4];
	f->status = (uint16_t)get(p + 6, 2);
	body = get(p + 8, 4);
	f->opaque = (uint32_t)get(p + 12, 4);
	f->cas = get(p + 16, 8);
	if (body > body_max) {
		*why = "protocol error: oversized response";
		return -1;
	}
	if (f->elen + f->klen > body || f->klen > MCR_KEY_MAX || f->elen > 32) {
		*why = "protocol error: bad lengths in a response";
		return -1;
	}
	if (len < MCR_HDR + body)
		return 0;
	f->extras = p + MCR_HDR;
	f->key = f->extras + f->elen;
	f->value = f->key + f->klen;
	f->vlen = body - f->elen - f->klen;
	return (long)(MCR_HDR + body);
}

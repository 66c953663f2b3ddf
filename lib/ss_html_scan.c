/* Streaming search for the loader insertion point (README, "Handler and filter").
 *
 * The only thing remembered between chunks is how far into a candidate tag
 * ("</head" or "<body") the stream currently is.  A candidate always starts
 * with '<' and contains no other '<', so when it fails it cannot overlap a
 * later candidate except at the failing byte itself (when that byte is '<'):
 * every byte is examined once and nothing held is ever rescanned. */
#include <string.h>

#include "ss_html_scan.h"

enum {
    SCAN_IDLE = 0,   /* no candidate open */
    SCAN_LT,         /* "<" */
    SCAN_LT_SLASH,   /* "</" */
    SCAN_H,          /* "</h" */
    SCAN_HE,         /* "</he" */
    SCAN_HEA,        /* "</hea" */
    SCAN_HEAD,       /* "</head": the next byte decides */
    SCAN_B,          /* "<b" */
    SCAN_BO,         /* "<bo" */
    SCAN_BOD,        /* "<bod" */
    SCAN_BODY,       /* "<body": the next byte decides */
    SCAN_DONE,       /* insertion point reported; everything else passes */
    SCAN_FOUND       /* step result only, never stored */
};

/* Bytes of the candidate in each state: what the caller holds when a chunk
 * ends there. */
static const unsigned char scan_candidate_len[] = {
    [SCAN_IDLE] = 0, [SCAN_LT] = 1, [SCAN_LT_SLASH] = 2,
    [SCAN_H] = 3, [SCAN_HE] = 4, [SCAN_HEA] = 5, [SCAN_HEAD] = 6,
    [SCAN_B] = 2, [SCAN_BO] = 3, [SCAN_BOD] = 4, [SCAN_BODY] = 5,
    [SCAN_DONE] = 0,
};

/* ASCII letters only: c | 0x20 equals a lowercase letter exactly for that
 * letter and its uppercase form. */
#define SCAN_IS(c, lower) (((c) | 0x20) == (lower))

static int scan_is_delim(unsigned char c)
{
    /* HTML white space (no \v) or the end of the tag. */
    return c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
           || c == '\f';
}

/* Next state after byte c in an open candidate state. */
static int scan_step(int state, unsigned char c)
{
    switch (state) {
    case SCAN_LT:
        if (c == '/')
            return SCAN_LT_SLASH;
        if (SCAN_IS(c, 'b'))
            return SCAN_B;
        break;
    case SCAN_LT_SLASH: if (SCAN_IS(c, 'h')) return SCAN_H;   break;
    case SCAN_H:        if (SCAN_IS(c, 'e')) return SCAN_HE;  break;
    case SCAN_HE:       if (SCAN_IS(c, 'a')) return SCAN_HEA; break;
    case SCAN_HEA:      if (SCAN_IS(c, 'd')) return SCAN_HEAD; break;
    case SCAN_B:        if (SCAN_IS(c, 'o')) return SCAN_BO;  break;
    case SCAN_BO:       if (SCAN_IS(c, 'd')) return SCAN_BOD; break;
    case SCAN_BOD:      if (SCAN_IS(c, 'y')) return SCAN_BODY; break;
    case SCAN_HEAD:
    case SCAN_BODY:
        if (scan_is_delim(c))
            return SCAN_FOUND;
        break;
    default:
        break;
    }
    /* The candidate failed; the failing byte may open the next one. */
    return c == '<' ? SCAN_LT : SCAN_IDLE;
}

void ss_html_scan_init(ss_html_scan *s)
{
    s->state = SCAN_IDLE;
    s->held = 0;
}

void ss_html_scan_feed(ss_html_scan *s, const char *chunk, size_t len,
                       ss_html_scan_result *res)
{
    const unsigned char *p = (const unsigned char *)chunk;
    int state = s->state;
    /* The held bytes are exactly the open candidate, so the state says how
     * many there are. */
    int have_held = (state != SCAN_IDLE && state != SCAN_DONE);
    int cand_in_held = have_held;   /* the open candidate began before this chunk */
    size_t cand_start = 0;          /* its offset in the chunk; 0 when in the held bytes */
    size_t i = 0;

    res->found = 0;
    res->held_in_tag = 0;
    res->release_held = 0;
    res->pos = 0;

    if (state == SCAN_DONE) {
        /* Called again after the insertion point: nothing more to find. */
        res->pos = len;
        s->held = 0;
        return;
    }
    if (len == 0)
        return;     /* chunk may be NULL; held bytes stay held */

    while (i < len) {
        if (state == SCAN_IDLE) {
            /* Fast path: nothing open, jump to the next '<'. */
            const unsigned char *lt = memchr(p + i, '<', len - i);
            if (lt == NULL)
                break;
            state = SCAN_LT;
            cand_in_held = 0;
            cand_start = (size_t)(lt - p);
            i = cand_start + 1;
            continue;
        }
        state = scan_step(state, p[i]);
        if (state == SCAN_FOUND) {
            res->found = 1;
            res->held_in_tag = cand_in_held;
            res->release_held = have_held && !cand_in_held;
            res->pos = cand_start;
            s->state = SCAN_DONE;
            s->held = 0;
            return;
        }
        if (state == SCAN_IDLE || state == SCAN_LT) {
            /* The candidate failed (any held bytes are released); a failing
             * '<' opens the next one right here. */
            cand_in_held = 0;
            cand_start = i;
        }
        i++;
    }

    /* End of the chunk without a decision. */
    if (state == SCAN_IDLE)
        res->pos = len;
    else
        res->pos = cand_start;  /* 0 when the chunk extends the held candidate */
    res->release_held = have_held && !cand_in_held;
    s->state = state;
    s->held = scan_candidate_len[state];
}

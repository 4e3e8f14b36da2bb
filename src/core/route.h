/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The routing-plan evaluator (docs/routing.md): from a call's facts, its routing plan, the time
 * (a UTC instant read in the zones the plan's schedules carry: core/zone.h), the live counts
 * behind caps and round robin, the call's progress so far and what just happened (the call
 * arrived, the caller pressed digits, a dialled target ended, a voicemail was recorded), the
 * next abstract instruction for the provider: gather digits, dial a target, record a voicemail,
 * say something and hang up, hang up, or reject. Providers render it (TwiML, TeXML); the app
 * reads the plan and the counts from the store and keeps the progress in the callback URLs.
 *
 * A plan is an ordered list of steps: MENU (press 1 for sales…; an option may choose a
 * location), SCREEN (press 1 to be connected), SCHEDULE (open → next step, closed → another),
 * DISTRIBUTE (over targets: round robin, weighted, priority/waterfall, geography; a target that
 * is busy, fails or does not answer moves on to the next one) , VOICEMAIL, MESSAGE. Targets have
 * schedules, concurrency and daily caps, a minimum billable duration and a payout. The
 * evaluator never leaves a call without an instruction: whatever is inconsistent (a step index
 * out of range, a loop, every target exhausted with nowhere else to go) dials the plan's
 * last-resort line, and the instruction says so (last_resort, reason).
 *
 * Part of the pure core: no I/O, no clock, no randomness of its own (the weighted draw is a
 * fact the caller supplies). Ownership: the plan and everything it points to are borrowed for
 * the call; the instruction points into the plan (its strings) and into its own reason buffer.
 * THREADING: reentrant. */
#ifndef OPENDNI_CORE_ROUTE_H
#define OPENDNI_CORE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "core/zone.h"

#define ROUTE_MAX_STEPS 32
#define ROUTE_MAX_TARGETS 64 /* a call's tried targets fit one uint64_t */
#define ROUTE_MAX_LOCATIONS 256
#define ROUTE_MAX_OPTIONS 12 /* menu options: 0-9 * # */
#define ROUTE_DIGITS_MAX 16  /* digits kept per call */
#define ROUTE_MAX_HOPS 64    /* steps passed in one evaluation before it is called a loop */
#define ROUTE_STATE_MAX 64   /* route_state_format's text, NUL included */
#define ROUTE_REASON_MAX 96
#define ROUTE_AUCTION_DEADLINE_MS 1500 /* ping-post: how long bids are awaited by default */
#define ROUTE_DEST_MAX 64              /* a ping-post destination: E.164 or a sip: URI */

/* Where a step goes: a step index, or one of these. */
enum route_goto {
    ROUTE_GOTO_NEXT = -1,        /* the following step (after the last: the last resort) */
    ROUTE_GOTO_LAST_RESORT = -2, /* dial the plan's last-resort line */
    ROUTE_GOTO_HANGUP = -3,      /* end the call (after a goodbye) */
};

/* Opening hours in a zone: weekly intervals of local time and closed dates. A schedule with no
 * intervals is open every day except its holidays. */
struct route_hours {
    uint8_t wday;       /* 0 = Sunday */
    uint16_t open_min;  /* minute of the day, 0..1439 */
    uint16_t close_min; /* 1..1440; <= open_min runs past midnight into the next day */
};
struct route_schedule {
    const struct zone *zone; /* NULL = UTC */
    size_t n_hours;
    const struct route_hours *hours;
    size_t n_holidays;
    const int32_t *holidays; /* local dates yyyymmdd, closed all day */
};

struct route_location {
    const char *id;
    const char *name;
    const struct route_schedule *hours; /* NULL = always open */
    size_t n_area_codes;
    const uint16_t *area_codes; /* NANP area codes it serves (geography) */
};

struct route_target {
    const char *id;
    const char *number; /* E.164 */
    int location;       /* index into plan.locations, or -1 */
    uint32_t weight;    /* weighted: share (0 = never picked by weight) */
    int32_t priority;   /* priority/waterfall and geography: lower goes first */
    int timeout_s;      /* ring time before no-answer (0 = the provider's default) */
    const struct route_schedule *schedule; /* NULL = always */
    int32_t max_concurrent;                /* 0 = no cap */
    int32_t max_daily;                     /* 0 = no cap */
    int32_t min_duration_s;                /* talk time that makes the call billable */
    int64_t payout;      /* what the buyer pays per billable call, minor units (plan: price) */
    const char *whisper; /* NULL, or text ("{source}", "{campaign}" filled) */
    const char *bid_url; /* ping-post: the buyer's ping endpoint (NULL = not a bidder) */
};

enum route_step_kind {
    ROUTE_STEP_MENU = 0,
    ROUTE_STEP_SCREEN,
    ROUTE_STEP_SCHEDULE,
    ROUTE_STEP_DISTRIBUTE,
    ROUTE_STEP_VOICEMAIL,
    ROUTE_STEP_MESSAGE,
};

enum route_method {
    ROUTE_ROUND_ROBIN = 0,
    ROUTE_WEIGHTED,
    ROUTE_PRIORITY,
    ROUTE_GEOGRAPHY,
    ROUTE_PING_POST, /* an auction among the targets with a bid_url: the highest valid bid wins */
};

struct route_option {
    char digit;    /* '0'..'9', '*', '#' */
    int goto_step; /* enum route_goto or a step index */
    int location;  /* index: the call is at this location from now on; -1 = unchanged */
};

struct route_step {
    enum route_step_kind kind;
    const char *say; /* MENU, SCREEN, VOICEMAIL, MESSAGE: the prompt */
    int next;        /* where the step leads when it passes (ROUTE_GOTO_NEXT by default) */
    int timeout_s;   /* MENU, SCREEN: seconds to wait for a digit */
    /* MENU */
    size_t n_options;
    struct route_option options[ROUTE_MAX_OPTIONS];
    int max_tries; /* prompts before on_fail (0 = 1) */
    /* SCREEN */
    char accept_digit;  /* '1' by default ('\0') */
    bool skip_verified; /* a caller whose STIR/SHAKEN attestation is A passes unasked */
    /* SCHEDULE: the schedule, or NULL = the call's location's hours (open if none) */
    const struct route_schedule *schedule;
    /* DISTRIBUTE */
    enum route_method method;
    size_t n_targets; /* 0 = every target of the plan */
    const uint16_t *targets;
    /* MENU (no valid digit), SCREEN (refused: default ROUTE_GOTO_HANGUP), SCHEDULE (closed),
     * DISTRIBUTE (no target left) */
    int on_fail;
    /* VOICEMAIL */
    int max_len_s; /* 0 = 120 */
    /* DISTRIBUTE by PING_POST */
    int deadline_ms; /* how long bids are awaited (0 = ROUTE_AUCTION_DEADLINE_MS) */
    int64_t reserve; /* the lowest price accepted, minor units (0 = any price above 0) */
};

struct route_plan {
    size_t n_steps;
    const struct route_step *steps;
    size_t n_targets;
    const struct route_target *targets;
    size_t n_locations;
    const struct route_location *locations;
    const char *last_resort; /* E.164: where anything that fails goes */
    bool record;             /* record dialled calls, after the notice */
    const char *notice;      /* NULL = the provider's default notice */
    size_t n_blocked;
    const char *const *blocked;      /* E.164 numbers, or prefixes ending in '*' ("+1900*") */
    bool reject_failed_verification; /* StirVerstat "…-Failed…" is rejected */
    /* A plan attached to a location (home: its index) distributes only to targets that are not
     * another location's business line: a target whose `location` is another one is skipped
     * unless it is a buyer (route_target_is_buyer: buyers are account-wide). */
    bool at_home;
    int home;
};

/* The call as routing sees it. */
struct route_facts {
    const char *from;     /* caller, E.164 (NULL/"" = withheld) */
    const char *verstat;  /* the provider's caller verification (StirVerstat) or NULL */
    int area_code;        /* caller's NANP area code, 0 = unknown */
    int visit_location;   /* a location index chosen from the visit's region, -1 = none */
    const char *source;   /* attribution, for whispers */
    const char *campaign; /* attribution, for whispers */
    uint64_t draw;        /* a random value (a weighted pick after a failed dial) */
};

/* The live counts, per target index (arrays of plan.n_targets, or NULL for all zero). */
struct route_counts {
    const int32_t *live;  /* calls connected or ringing now */
    const int32_t *today; /* calls today (the target's local day) */
    uint64_t rr_seq;      /* this evaluation's number (round robin, weighted), claimed atomically */
};

/* A call's progress through its plan, carried between webhooks (route_state_format). */
struct route_state {
    int step;       /* the step waiting for an event (or the next to run) */
    int tries;      /* prompts of the current MENU so far */
    int location;   /* the call's location, -1 = none yet */
    int target;     /* the target being dialled, -1 = none, -2 = the last resort */
    uint64_t tried; /* targets dialled so far (bit i = target i) */
    char digits[ROUTE_DIGITS_MAX + 1];
};

enum route_event_kind {
    ROUTE_EV_START = 0, /* the call arrived */
    ROUTE_EV_DIGITS,    /* a gather ended: digits, "" if none */
    ROUTE_EV_DIAL_DONE, /* the dialled leg ended: dial_status */
    ROUTE_EV_RECORDED,  /* the voicemail ended */
    ROUTE_EV_AUCTION,   /* a ping-post auction ended: winner (or none) */
};

struct route_event {
    enum route_event_kind kind;
    const char *digits;      /* DIGITS */
    const char *dial_status; /* DIAL_DONE: completed, answered, busy, no-answer, failed… */
    /* DIAL_DONE of an auction's winner: valid bids of the same auction are left (ranked after
     * it, not posted yet), so a failed dial posts to the next one before falling back */
    bool bids_left;
    /* AUCTION: the target whose post confirmed the call (-1 = no valid bid, no confirmed post,
     * or the auction could not run), where the post said to send it (E.164 or sip: URI,
     * already validated) and the price it won at. */
    int winner;
    const char *destination;
    int64_t price;
};

enum route_op {
    ROUTE_OP_GATHER = 0, /* say `say`, wait up to timeout_s for num_digits digits */
    ROUTE_OP_DIAL,       /* dial number for timeout_s (recording if record) */
    ROUTE_OP_RECORD,     /* say `say`, record a voicemail up to max_len_s */
    ROUTE_OP_SAY_HANGUP, /* say `say`, hang up */
    ROUTE_OP_HANGUP,     /* hang up (the call is over) */
    ROUTE_OP_REJECT,     /* refuse without answering (blocked caller) */
    ROUTE_OP_AUCTION,    /* run a ping-post auction among `bidders`, then send ROUTE_EV_AUCTION;
                            with `repost`, no new bidding: post to the same auction's next bids */
};

struct route_instr {
    enum route_op op;
    const char *say;
    int num_digits;
    int timeout_s;
    int target;         /* DIAL: target index, -1 for the last resort */
    const char *number; /* DIAL */
    bool record;
    const char *notice;
    int max_len_s;
    char whisper[160]; /* DIAL: the whisper text with its fields filled, "" = none */
    bool used_seq;     /* the pick used counts.rr_seq (the caller claims one and re-runs) */
    bool last_resort;  /* DIAL of the last resort because something failed */
    int location;      /* the call's location after this step, -1 = none */
    char reason[ROUTE_REASON_MAX]; /* one line for the call's routing log */
    /* targets this evaluation left out as another location's business lines (bit i = target
     * i; plan.at_home) */
    uint64_t skipped_elsewhere;
    /* AUCTION: the eligible bidders (bit i = target i), the bidding deadline, the reserve */
    uint64_t bidders;
    int deadline_ms;
    int64_t reserve;
    bool repost;
};

/* ==== ping-post auctions ===================================================================== */

/* One buyer's answer to a ping, as the app read it. */
struct route_bid {
    int target;         /* the bidder's target index */
    bool valid;         /* the answer parsed as a bid (a price and a bid id) */
    int64_t price;      /* minor units */
    int64_t arrived_ms; /* since the pings went out (ties: the earlier bid wins) */
};

/* Ranks the bids of an auction among `bidders` (bit i = target i) for plan p: a bid counts when
 * it is valid, from one of the bidders (one bid per bidder: the first), arrived within
 * deadline_ms, and its price is above 0 and at least the reserve. order[] receives the indices
 * into bids[] of the counted bids, highest price first; ties go to the earlier bid, then the
 * lower `priority`, then the lower target index. Returns how many counted (order holds
 * n entries at most). Pure. */
size_t route_auction_rank(const struct route_plan *p, uint64_t bidders,
                          const struct route_bid *bids, size_t n, int deadline_ms, int64_t reserve,
                          size_t *order);

/* Whether s is a destination a post may name: an E.164 number, or a sip: URI
 * ("sip:user@host[:port]" with user and host of letters, digits and -._+, at most
 * ROUTE_DEST_MAX - 1 bytes). Pure. */
bool route_destination_ok(const char *s);

/* Checks a plan's internal consistency (indices in range, a last resort, options' digits,
 * schedules' minutes). Returns ERR_OK, or ERR_INVALID with eb naming the field. */
int route_plan_check(const struct route_plan *p, struct errbuf *eb);

/* The state of a call that has not started its plan. */
void route_state_init(struct route_state *st);

/* The next instruction for a call. Updates *st in place (the caller carries it to the next
 * webhook) and fills *out. Never fails: anything inconsistent dials the last resort. If
 * out->used_seq, the decision depended on counts->rr_seq: a caller that passed a provisional
 * seq claims one from the store and evaluates again from the same state. */
void route_next(const struct route_plan *p, const struct route_facts *f,
                const struct route_counts *c, int64_t now_ms, struct route_state *st,
                const struct route_event *ev, struct route_instr *out);

/* true if the schedule is open at now_ms (NULL: always open). */
bool route_schedule_open(const struct route_schedule *s, int64_t now_ms);

/* true if the caller is on the plan's block list (exact number or prefix). */
bool route_blocked(const struct route_plan *p, const char *from);

/* true for a verification result that passed with full attestation ("TN-Validation-Passed-A"),
 * and for one that failed ("…-Failed…", "No-TN-Validation" is neither). */
bool route_verstat_passed_a(const char *verstat);
bool route_verstat_failed(const char *verstat);

/* Fills "{source}" and "{campaign}" of a whisper text from f into out (cap bytes). */
void route_whisper_fill(const struct route_facts *f, const char *text, char *out, size_t cap);

/* true if t is a buyer: it bids (a bid_url) or pays per billable call (a payout above 0). */
bool route_target_is_buyer(const struct route_target *t);

/* true if plan p (attached to a location) may not send a call to its target i: a business line
 * of another location (not a buyer). */
bool route_target_elsewhere(const struct route_plan *p, int i);

/* Whether a call to target t that talked duration_s is billable, and its payout (0 if not). */
bool route_billable(const struct route_target *t, int64_t duration_s, int64_t *payout);

/* The state as a short URL-safe text ("step.tries.location.target.tried-hex.digits"), at most
 * ROUTE_STATE_MAX - 1 characters, and back. route_state_parse returns ERR_OK or ERR_INVALID
 * (st unchanged). */
void route_state_format(const struct route_state *st, char out[ROUTE_STATE_MAX]);
int route_state_parse(const char *s, struct route_state *st);

const char *route_method_name(enum route_method m);
int route_method_parse(const char *s, enum route_method *out);
const char *route_step_kind_name(enum route_step_kind k);
int route_step_kind_parse(const char *s, enum route_step_kind *out);

#endif

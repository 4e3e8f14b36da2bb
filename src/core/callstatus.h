/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* A call's status from the provider's reports on its two legs (the caller's inbound leg and the
 * leg forwarded to the business): which report wins when they arrive late, twice or out of
 * order, and what the call's effective status and talk time are (docs/telephony.md "Status,
 * duration and conversions"). Part of the pure core: no I/O, no clock; time is a parameter.
 * Ownership: arguments are borrowed for the call; results go to caller-owned storage.
 * THREADING: reentrant. */
#ifndef OPENDNI_CORE_CALLSTATUS_H
#define OPENDNI_CORE_CALLSTATUS_H

#include <stdbool.h>
#include <stdint.h>

#define CALLSTATUS_MAX 33 /* provider statuses: 1..32 characters */

/* The status fields of one call. Strings are "" when unknown; durations and sequence numbers
 * -1 until reported. */
struct call_legs {
    char status[CALLSTATUS_MAX];      /* effective: ringing, in-progress, or a final status */
    int64_t duration_s;               /* effective talk time */
    char call_status[CALLSTATUS_MAX]; /* caller's leg as last reported */
    int64_t call_duration_s;
    int64_t status_seq;               /* last SequenceNumber applied to the caller's leg */
    char dial_status[CALLSTATUS_MAX]; /* forwarded leg as last reported */
    int64_t dial_duration_s;
    int64_t dial_seq;
    int64_t started_at;
    int64_t ended_at; /* 0 until the status is final */
    int64_t updated_at;
};

enum call_leg {
    CALL_LEG_CALLER, /* the inbound call (status callback with our CallSid) */
    CALL_LEG_DIALED, /* the forwarded leg (<Dial action>, or a callback with ParentCallSid) */
};

/* A provider's report on one leg. */
struct call_report {
    enum call_leg leg;
    const char *status; /* provider status; NULL = not reported */
    int64_t duration_s; /* seconds; -1 = not reported */
    int64_t seq;        /* SequenceNumber; -1 = none (always applied) */
};

/* true for completed, busy, no-answer, failed and canceled. */
bool callstatus_final(const char *status);

/* Merges one report into c: a report older than the leg's last SequenceNumber, or a non-final
 * status after a final one, is ignored. Then recomputes the effective status (the forwarded
 * leg's outcome once known: completed/answered -> completed, else busy, no-answer…; otherwise
 * the caller's leg; other live statuses map onto ringing and in-progress) and duration (talk
 * time: the forwarded leg's duration when reported, else the caller's; 0 for a call that did
 * not connect), and sets ended_at = now when it first becomes final. Returns true if c
 * changed. */
bool callstatus_merge(struct call_legs *c, const struct call_report *u, int64_t now);

#endif

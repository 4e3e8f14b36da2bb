/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* The records the use cases take and return (accounts, pools, numbers, rules, sessions, leases,
 * events, calls, conversions, report rows): the store's plain structs with fixed-size strings,
 * re-exported here so that the transport (src/http) works with them without including any
 * store/ header and so without reaching the store's operations (scripts/check-src). */
#ifndef OPENDNI_APP_RECORDS_H
#define OPENDNI_APP_RECORDS_H

#include "store/store.h"

#endif

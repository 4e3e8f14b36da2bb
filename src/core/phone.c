/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Phone numbers (core): E.164 parsing of what humans and providers write, display formatting,
 * and the NANP area-code table that gives a caller's coarse region for attribution scoring.
 * Pure: constant tables only, no allocation. */
#include "base/prelude.h"
#include "core/phone.h"

#define PHONE_INPUT_MAX 64 /* longer input is not a phone number */
#define E164_DIGITS_MAX 15

/* ------------------------------------------------------------------------------------------ */
/* Parsing                                                                                    */

/* Multi-byte separators that arrive when a number is pasted from a web page or a document:
 * no-break and thin spaces, the Unicode hyphens and dashes, the minus sign. */
static const char *const wide_separators[] = {
    "\xc2\xa0",     /* U+00A0 no-break space */
    "\xe2\x80\x89", /* U+2009 thin space */
    "\xe2\x80\xaf", /* U+202F narrow no-break space */
    "\xe2\x80\x90", /* U+2010 hyphen */
    "\xe2\x80\x91", /* U+2011 non-breaking hyphen */
    "\xe2\x80\x92", /* U+2012 figure dash */
    "\xe2\x80\x93", /* U+2013 en dash */
    "\xe2\x80\x94", /* U+2014 em dash */
    "\xe2\x88\x92", /* U+2212 minus sign */
};

/* Length in bytes of the separator at s, or 0 if s does not start with one. */
static size_t separator_len(const char *s)
{
    if (*s != '\0' && strchr(" \t-./()", *s))
        return 1;
    unsigned char b = (unsigned char)*s;
    if (b != 0xc2 && b != 0xe2) /* the first bytes of the wide ones */
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(wide_separators); i++) {
        size_t n = strlen(wide_separators[i]);
        if (strncmp(s, wide_separators[i], n) == 0)
            return n;
    }
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Skips leading blanks and an optional "tel:" scheme (RFC 3966). */
static const char *skip_prefix(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if ((s[0] | 0x20) == 't' && (s[1] | 0x20) == 'e' && (s[2] | 0x20) == 'l' && s[3] == ':')
        s += 4;
    return s;
}

/* Collects the digits of s (after skip_prefix) into digits[E164_DIGITS_MAX + 1], noting a
 * leading '+'. Returns ERR_OK or ERR_INVALID for a stray character or too many digits. */
static int collect_digits(const char *s, char *digits, size_t *n_digits, bool *has_plus,
                          struct errbuf *eb)
{
    size_t n = 0;
    *has_plus = (*s == '+');
    if (*has_plus)
        s++;
    while (*s) {
        size_t sep = is_digit(*s) ? 0 : separator_len(s);
        if (sep) {
            s += sep;
            continue;
        }
        if (!is_digit(*s))
            return errf(eb, ERR_INVALID, "number", "cannot parse number: unexpected %s",
                        *s == '+' ? "'+' after the start" : "character");
        if (n == E164_DIGITS_MAX)
            return errf(eb, ERR_INVALID, "number", "cannot parse number: more than 15 digits");
        digits[n++] = *s++;
    }
    digits[n] = '\0';
    *n_digits = n;
    return ERR_OK;
}

/* Checks the ten NANP digits after the country code 1: NPA and NXX start with 2-9 and are not
 * N11 service codes. */
static int check_nanp(const char *ten, struct errbuf *eb)
{
    if (ten[0] < '2' || (ten[1] == '1' && ten[2] == '1'))
        return errf(eb, ERR_INVALID, "number", "cannot parse number: invalid NANP area code");
    if (ten[3] < '2' || (ten[4] == '1' && ten[5] == '1'))
        return errf(eb, ERR_INVALID, "number", "cannot parse number: invalid NANP exchange");
    return ERR_OK;
}

/* Validates the digits and writes the E.164 form. */
static int digits_to_e164(const char *d, size_t n, bool has_plus, char out[PHONE_E164_MAX],
                          struct errbuf *eb)
{
    const char *ten = NULL;
    if (has_plus && d[0] == '0')
        return errf(eb, ERR_INVALID, "number", "cannot parse number: country code starts with 0");
    if (has_plus && d[0] == '1') {
        if (n != 11)
            return errf(eb, ERR_INVALID, "number", "cannot parse number: +1 needs 10 more digits");
        ten = d + 1;
    } else if (has_plus) {
        if (n < 8)
            return errf(eb, ERR_INVALID, "number", "cannot parse number: fewer than 8 digits");
        out[0] = '+';
        memcpy(out + 1, d, n + 1); /* n <= E164_DIGITS_MAX: it fits */
        return ERR_OK;
    } else if (n == 10) {
        ten = d;
    } else if (n == 11 && d[0] == '1') {
        ten = d + 1;
    } else {
        return errf(eb, ERR_INVALID, "number",
                    "cannot parse number: not 10 NANP digits, and no '+' for international");
    }
    int rc = check_nanp(ten, eb);
    if (rc == ERR_OK) {
        memcpy(out, "+1", 2);
        memcpy(out + 2, ten, 10);
        out[12] = '\0';
    }
    return rc;
}

int phone_parse(const char *in, char out[PHONE_E164_MAX], struct errbuf *eb)
{
    char digits[E164_DIGITS_MAX + 1];
    size_t n = 0;
    bool has_plus = false;

    out[0] = '\0';
    if (!in || strnlen(in, PHONE_INPUT_MAX + 1) > PHONE_INPUT_MAX)
        return errf(eb, ERR_INVALID, "number", "cannot parse number: missing or too long");
    int rc = collect_digits(skip_prefix(in), digits, &n, &has_plus, eb);
    if (rc != ERR_OK)
        return rc;
    if (n == 0)
        return errf(eb, ERR_INVALID, "number", "cannot parse number: no digits");
    rc = digits_to_e164(digits, n, has_plus, out, eb);
    if (rc != ERR_OK)
        out[0] = '\0';
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Formatting                                                                                 */

/* ITU-T E.164 country codes are prefix-free. Zones 1 and 7 use one digit; these two-digit codes
 * are assigned; every other code in zones 2-9 has three digits, except in the spare blocks 28x,
 * 83x and 89x, where the length is unknown. */
static const char two_digit_codes[] = "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 "
                                      "51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 "
                                      "86 90 91 92 93 94 95 98";
static const char three_digit_blocks[] = "21 22 23 24 25 26 29 35 37 38 42 50 59 67 68 69 80 "
                                         "85 87 88 96 97 99";

/* True if the n-digit code at code is one of the space-separated codes in list. */
static bool code_in_list(const char *list, const char *code, size_t n)
{
    for (const char *p = list; *p; p += n + (p[n] == ' ')) {
        if (memcmp(p, code, n) == 0)
            return true;
    }
    return false;
}

/* Length of the country code at the start of the digits, or 0 if unknown. */
static size_t country_code_len(const char *d)
{
    if (d[0] == '1' || d[0] == '7')
        return 1;
    if (code_in_list(two_digit_codes, d, 2))
        return 2;
    if (code_in_list(three_digit_blocks, d, 2))
        return 3;
    return 0;
}

static bool is_canonical(const char *e164)
{
    char again[PHONE_E164_MAX];
    return e164 && e164[0] == '+' && phone_parse(e164, again, NULL) == ERR_OK &&
           strcmp(again, e164) == 0;
}

int phone_format(const char *e164, char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (!is_canonical(e164))
        return ERR_INVALID;
    const char *d = e164 + 1;
    size_t cc = country_code_len(d);
    int n;
    if (d[0] == '1')
        n = snprintf(out, cap, "(%.3s) %.3s-%s", d + 1, d + 4, d + 7);
    else if (cc > 0)
        n = snprintf(out, cap, "+%.*s %s", (int)cc, d, d + cc);
    else
        n = snprintf(out, cap, "%s", e164);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return ERR_TOOBIG;
    }
    return ERR_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* NANP facts                                                                                 */

/* Area codes by region (NANPA assignments, overlays included). Every code is exactly three
 * digits, separated by single spaces; a code appears in one row only. Codes shared by several
 * regions (867: YT, NT, NU) are left out, so they map to no region. */
static const struct {
    const char *region;
    const char *codes;
} nanp_regions[] = {
    {"US-AL", "205 251 256 334 659 938"},
    {"US-AK", "907"},
    {"US-AZ", "480 520 602 623 928"},
    {"US-AR", "327 479 501 870"},
    {"US-CA", "209 213 279 310 323 341 350 408 415 424 442 510 530 559 562 619 626 628 650 "
              "657 661 669 707 714 747 760 805 818 820 840 858 909 916 925 949 951"},
    {"US-CO", "303 719 720 970 983"},
    {"US-CT", "203 475 860 959"},
    {"US-DE", "302"},
    {"US-DC", "202 771"},
    {"US-FL", "239 305 321 324 352 386 407 448 561 645 656 689 727 754 772 786 813 850 863 "
              "904 941 954"},
    {"US-GA", "229 404 470 478 678 706 762 770 912"},
    {"US-HI", "808"},
    {"US-ID", "208 986"},
    {"US-IL", "217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 872"},
    {"US-IN", "219 260 317 463 574 765 812 930"},
    {"US-IA", "319 515 563 641 712"},
    {"US-KS", "316 620 785 913"},
    {"US-KY", "270 364 502 606 859"},
    {"US-LA", "225 318 337 504 985"},
    {"US-ME", "207"},
    {"US-MD", "227 240 301 410 443 667"},
    {"US-MA", "339 351 413 508 617 774 781 857 978"},
    {"US-MI", "231 248 269 313 517 586 616 679 734 810 906 947 989"},
    {"US-MN", "218 320 507 612 651 763 952"},
    {"US-MS", "228 601 662 769"},
    {"US-MO", "314 417 557 573 636 660 816 975"},
    {"US-MT", "406"},
    {"US-NE", "308 402 531"},
    {"US-NV", "702 725 775"},
    {"US-NH", "603"},
    {"US-NJ", "201 551 609 640 732 848 856 862 908 973"},
    {"US-NM", "505 575"},
    {"US-NY", "212 315 332 347 363 516 518 585 607 631 646 680 716 718 838 845 914 917 929 934"},
    {"US-NC", "252 336 704 743 828 910 919 980 984"},
    {"US-ND", "701"},
    {"US-OH", "216 220 234 283 326 330 380 419 436 440 513 567 614 740 937"},
    {"US-OK", "405 539 572 580 918"},
    {"US-OR", "458 503 541 971"},
    {"US-PA", "215 223 267 272 412 445 484 570 582 610 717 724 814 835 878"},
    {"US-RI", "401"},
    {"US-SC", "803 839 843 854 864"},
    {"US-SD", "605"},
    {"US-TN", "423 615 629 731 865 901 931"},
    {"US-TX", "210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 830 "
              "832 903 915 936 940 945 956 972 979"},
    {"US-UT", "385 435 801"},
    {"US-VT", "802"},
    {"US-VA", "276 434 540 571 686 703 757 804 826 948"},
    {"US-WA", "206 253 360 425 509 564"},
    {"US-WV", "304 681"},
    {"US-WI", "262 274 414 534 608 715 920"},
    {"US-WY", "307"},
    /* US territories */
    {"US-PR", "787 939"},
    {"US-VI", "340"},
    {"US-GU", "671"},
    {"US-MP", "670"},
    {"US-AS", "684"},
    /* Canada */
    {"CA-AB", "368 403 587 780 825"},
    {"CA-BC", "236 250 257 604 672 778"},
    {"CA-MB", "204 431 584"},
    {"CA-NB", "428 506"},
    {"CA-NL", "709 879"},
    {"CA-NS", "782 902"},
    {"CA-ON", "226 249 289 343 365 382 416 437 519 548 613 647 683 705 742 753 807 905 942"},
    {"CA-QC", "263 354 367 418 438 450 468 514 579 581 819 873"},
    {"CA-SK", "306 474 639"},
    /* The other NANP countries, by ISO 3166-1 code */
    {"AG", "268"},
    {"AI", "264"},
    {"BB", "246"},
    {"BM", "441"},
    {"BS", "242"},
    {"DM", "767"},
    {"DO", "809 829 849"},
    {"GD", "473"},
    {"JM", "658 876"},
    {"KN", "869"},
    {"KY", "345"},
    {"LC", "758"},
    {"MS", "664"},
    {"SX", "721"},
    {"TC", "649"},
    {"TT", "868"},
    {"VC", "784"},
    {"VG", "284"},
};

static const char toll_free_codes[] = "800 833 844 855 866 877 888";

const char *phone_region(const char *e164)
{
    if (!phone_is_nanp(e164))
        return NULL;
    const char *npa = e164 + 2;
    for (size_t i = 0; i < ARRAY_SIZE(nanp_regions); i++) {
        if (code_in_list(nanp_regions[i].codes, npa, 3))
            return nanp_regions[i].region;
    }
    return NULL;
}

bool phone_is_nanp(const char *e164)
{
    return is_canonical(e164) && e164[1] == '1';
}

bool phone_is_toll_free(const char *e164)
{
    return phone_is_nanp(e164) && code_in_list(toll_free_codes, e164 + 2, 3);
}

/*
 * misbehave.c: a PKCS#11 module that wraps a real one (SoftHSM) and misbehaves on demand,
 * so the tests can show what ukeytool does with the faults of real vendor modules.
 *
 * C_GetFunctionList dlopen()s the module named by $MISBEHAVE_REAL, copies its function
 * list and puts the wrappers below in front of the inspection functions. Everything else
 * goes straight to the real module. Configuration, read once at the first
 * C_GetFunctionList:
 *
 *   MISBEHAVE         comma-separated modes (table MODES below); unset or empty: none
 *   MISBEHAVE_SLOT    index in C_GetSlotList(FALSE) of the one slot that misbehaves
 *                     (an index: SoftHSM's slot ids are random); unset: every slot
 *   MISBEHAVE_OBJECT  attr_* modes: index among the handles C_FindObjects returned on
 *                     that slot of the one object that misbehaves; unset: every object
 *   MISBEHAVE_AFTER   find_* modes: handles returned before the search fails (default 0)
 *   MISBEHAVE_PAD_PIN protected_auth: the PIN "entered on the PIN pad": a C_Login with
 *                     a NULL PIN on the targeted slot is passed on with this PIN (a
 *                     reader with a PIN pad does the same); unset: passed on as NULL
 *   MISBEHAVE_DELAY_US microseconds every wrapped call (the inspection functions below)
 *                     sleeps before it runs: a USB key's round trip, for benchmarks;
 *                     unset or 0: none
 *   MISBEHAVE_CLOSE_PAUSE_US microseconds C_CloseSession waits before it returns (block:
 *                     integrity): time for a test's card, pulled during the read, to be
 *                     seen gone before ukeytool checks the slot again; unset or 0: none
 *   MISBEHAVE_LOG     file to append one line per wrapped call to, e.g.
 *                     "C_GetAttributeValue object=7 n=5 rv=0x150 mis=1 pid=42" (never a
 *                     PIN); mis=1: this call misbehaved (changed something); pid: the
 *                     calling process (after a fork, or in a child process)
 *
 * An unknown mode or a real module that cannot be loaded is reported on stderr as
 * "misbehave: ..." and C_GetFunctionList returns CKR_GENERAL_ERROR.
 *
 * Build: cc -shared -fPIC -O1 -Wall -Werror -I/usr/include/p11-kit-1 \
 *           -o libmisbehave.so misbehave.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

enum {
    FUNCTION_LIST_ERROR, INIT_HANG, INIT_CRASH, INIT_ARGS_BAD, SLOTLIST_GROWS,
    TOKENINFO_NOT_PRESENT, TOKENINFO_DEVICE_ERROR, TOKENINFO_SLOT_INVALID, VENDOR_RV,
    PIN_COUNT_LOW, PIN_FINAL_TRY, PIN_LOCKED, VENDOR_FLAGS, PROTECTED_AUTH,
    RW_ONLY, LOGIN_PIN_LOCKED, FIND_DEVICE_REMOVED, FIND_SESSION_INVALID,
    ATTR_HUGE_LENGTH, ATTR_UNAVAILABLE_OK, ATTR_SENSITIVE, ATTR_GROWS,
    ATTR_TYPE_INVALID_LABEL, ATTR_TOO_SMALL, FINALIZE_ERROR, CLOSE_SESSION_INVALID,
    ATTR_DEVICE_REMOVED, FINALIZE_CRASH, FINALIZE_HANG, SLOTS_HUGE, SLOTS_MANY,
    FUNCTION_LIST_NULL, PIN_ENV, SLOTINFO_CRASH, FORK_HELPER,
    LOGIN_CRASH, SLOTINFO_HANG,
    /* issue 13, a token removed or swapped during the read (block: integrity) */
    TOKEN_REMOVED_AFTER_READ, TOKEN_SWAPPED,
    /* issue 12's review: a token that fails in its object calls (block: select) */
    FIND_CRASH, FIND_HANG,
};

#define VENDOR_CODE (CKR_VENDOR_DEFINED + 0x123UL)
#define VENDOR_FLAG 0x20000000UL
/* rw_only: a module that only does R/W sessions refuses a read-only one. The spec has no
 * code for that; CKR_SESSION_READ_ONLY ("the session is read-only") is the one that names
 * it, and the one such modules return (others say CKR_FUNCTION_FAILED). */
#define RW_ONLY_CODE CKR_SESSION_READ_ONLY

static const struct mode {
    const char *name;
    int bit;
    const char *what;
} MODES[] = {
    {"function_list_error", FUNCTION_LIST_ERROR,
     "C_GetFunctionList returns CKR_GENERAL_ERROR (a module checking its set-up there)"},
    {"init_hang", INIT_HANG, "C_Initialize never returns"},
    {"init_crash", INIT_CRASH, "C_Initialize raises SIGSEGV"},
    {"init_args_bad", INIT_ARGS_BAD, "C_Initialize returns CKR_ARGUMENTS_BAD"},
    {"slotlist_grows", SLOTLIST_GROWS,
     "the first C_GetSlotList fill returns CKR_BUFFER_TOO_SMALL with count + 1"},
    {"tokeninfo_not_present", TOKENINFO_NOT_PRESENT, "C_GetTokenInfo: CKR_TOKEN_NOT_PRESENT"},
    {"tokeninfo_device_error", TOKENINFO_DEVICE_ERROR, "C_GetTokenInfo: CKR_DEVICE_ERROR"},
    {"tokeninfo_slot_invalid", TOKENINFO_SLOT_INVALID, "C_GetTokenInfo: CKR_SLOT_ID_INVALID"},
    {"vendor_rv", VENDOR_RV, "C_GetTokenInfo: 0x80000123 (CKR_VENDOR_DEFINED+0x123)"},
    {"pin_count_low", PIN_COUNT_LOW, "token flags |= CKF_USER_PIN_COUNT_LOW"},
    {"pin_final_try", PIN_FINAL_TRY, "token flags |= CKF_USER_PIN_FINAL_TRY"},
    {"pin_locked", PIN_LOCKED, "token flags |= CKF_USER_PIN_LOCKED"},
    {"vendor_flags", VENDOR_FLAGS, "token flags |= 0x20000000 (no PKCS#11 meaning)"},
    {"protected_auth", PROTECTED_AUTH, "token flags |= CKF_PROTECTED_AUTHENTICATION_PATH"},
    {"rw_only", RW_ONLY, "C_OpenSession without CKF_RW_SESSION: CKR_SESSION_READ_ONLY"},
    {"login_pin_locked", LOGIN_PIN_LOCKED, "C_Login: CKR_PIN_LOCKED (the real one not called)"},
    {"find_device_removed", FIND_DEVICE_REMOVED,
     "C_FindObjects: CKR_DEVICE_REMOVED after MISBEHAVE_AFTER handles"},
    {"find_session_invalid", FIND_SESSION_INVALID,
     "C_FindObjects: CKR_SESSION_HANDLE_INVALID after MISBEHAVE_AFTER handles"},
    {"attr_huge_length", ATTR_HUGE_LENGTH, "CKA_VALUE: ulValueLen 2^40 with CKR_OK"},
    {"attr_unavailable_ok", ATTR_UNAVAILABLE_OK,
     "CKA_VALUE: CK_UNAVAILABLE_INFORMATION with CKR_OK"},
    {"attr_sensitive", ATTR_SENSITIVE, "CKA_VALUE: CKR_ATTRIBUTE_SENSITIVE"},
    {"attr_grows", ATTR_GROWS,
     "CKA_VALUE: always one byte more than the buffer offered, CKR_BUFFER_TOO_SMALL"},
    {"attr_type_invalid_label", ATTR_TYPE_INVALID_LABEL,
     "CKA_LABEL: CKR_ATTRIBUTE_TYPE_INVALID, the other attributes filled"},
    {"attr_too_small", ATTR_TOO_SMALL,
     "CKA_VALUE buffers under 64 KiB: CK_UNAVAILABLE_INFORMATION, CKR_BUFFER_TOO_SMALL"},
    {"finalize_error", FINALIZE_ERROR,
     "C_Finalize: the real one runs, then CKR_DEVICE_ERROR is returned"},
    {"close_session_invalid", CLOSE_SESSION_INVALID,
     "C_CloseSession: the real one runs, then CKR_SESSION_HANDLE_INVALID (a dead session)"},
    {"attr_device_removed", ATTR_DEVICE_REMOVED,
     "C_GetAttributeValue: CKR_DEVICE_REMOVED, nothing filled (the token was pulled out)"},
    {"finalize_crash", FINALIZE_CRASH, "C_Finalize raises SIGSEGV (the real one not called)"},
    {"finalize_hang", FINALIZE_HANG, "C_Finalize never returns"},
    {"slots_huge", SLOTS_HUGE, "C_GetSlotList claims 2^62 slots, with CKR_OK"},
    {"slots_many", SLOTS_MANY, "C_GetSlotList claims 200,000,000 slots, with CKR_OK"},
    {"function_list_null", FUNCTION_LIST_NULL,
     "C_GetFunctionList returns CKR_OK and a NULL function list"},
    {"pin_env", PIN_ENV,
     "C_Initialize logs whether UKEYTOOL_PIN is in the process's environment"},
    {"slotinfo_crash", SLOTINFO_CRASH,
     "C_GetSlotInfo of the MISBEHAVE_SLOT slot raises SIGSEGV"},
    {"fork_helper", FORK_HELPER,
     "C_Initialize forks a helper process that logs its pid and never exits"},
    {"login_crash", LOGIN_CRASH, "C_Login raises SIGSEGV (the real one not called)"},
    {"slotinfo_hang", SLOTINFO_HANG, "C_GetSlotInfo of the MISBEHAVE_SLOT slot never returns"},
    /* issue 13 (block: integrity) */
    {"token_removed_after_read", TOKEN_REMOVED_AFTER_READ,
     "once a session was opened on the slot: C_GetSessionInfo CKR_DEVICE_REMOVED, "
     "C_GetSlotInfo without CKF_TOKEN_PRESENT, C_GetTokenInfo CKR_TOKEN_NOT_PRESENT"},
    {"token_swapped", TOKEN_SWAPPED,
     "C_GetTokenInfo: from the second call on a slot, another serial (SWAPPEDTOKEN0001)"},
    /* block: select */
    {"find_crash", FIND_CRASH, "C_FindObjectsInit on the MISBEHAVE_SLOT slot raises SIGSEGV"},
    {"find_hang", FIND_HANG, "C_FindObjectsInit on the MISBEHAVE_SLOT slot never returns"},
};
#define N_MODES (sizeof MODES / sizeof MODES[0])
#define ON(bit) ((modes >> (bit)) & 1UL)

static unsigned long modes;
static long slot_index = -1, object_index = -1;
static unsigned long after;
static FILE *logfile;

static CK_FUNCTION_LIST *real;
static CK_FUNCTION_LIST list;

/* State of one initialisation (reset by C_Initialize). */
static int slotlist_grew;
static int target_resolved;
static CK_SLOT_ID target_slot;
static int target_exists;
static unsigned long find_returned;
#define MAX_FOUND 4096
static CK_OBJECT_HANDLE found[MAX_FOUND];
static unsigned long n_found;

/* --- issue 13: a token removed or swapped during the read (block: integrity) ---------- */
#define MAX_SEEN 64
static CK_SLOT_ID read_started[MAX_SEEN]; /* token_removed_after_read: sessions opened */
static unsigned long n_read_started;
static CK_SLOT_ID info_seen[MAX_SEEN]; /* token_swapped: slots whose token info was read */
static unsigned long n_info_seen;

static long close_pause_us; /* MISBEHAVE_CLOSE_PAUSE_US */

static int slot_in(const CK_SLOT_ID *set, unsigned long n, CK_SLOT_ID slot)
{
    unsigned long i;

    for (i = 0; i < n; i++)
        if (set[i] == slot)
            return 1;
    return 0;
}

static void slot_add(CK_SLOT_ID *set, unsigned long *n, CK_SLOT_ID slot)
{
    if (!slot_in(set, *n, slot) && *n < MAX_SEEN)
        set[(*n)++] = slot;
}
/* --- end of block: integrity ---------------------------------------------------------- */

static void logcall(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logcall(const char *fmt, ...)
{
    va_list ap;
    if (!logfile)
        return;
    va_start(ap, fmt);
    vfprintf(logfile, fmt, ap);
    va_end(ap);
    fprintf(logfile, " pid=%ld\n", (long)getpid());
    fflush(logfile);
}

static long delay_us;

/* A round trip to a USB key: every wrapped call waits MISBEHAVE_DELAY_US first. */
static void round_trip(void)
{
    if (delay_us > 0)
        usleep((useconds_t)delay_us);
}

static long env_long(const char *name, long fallback)
{
    const char *text = getenv(name);
    return text && *text ? strtol(text, NULL, 10) : fallback;
}

static int configure(void)
{
    const char *text = getenv("MISBEHAVE");
    char *copy, *token, *save = NULL;
    const char *path;
    size_t i;

    if (text && *text) {
        copy = strdup(text);
        for (token = strtok_r(copy, ",", &save); token; token = strtok_r(NULL, ",", &save)) {
            for (i = 0; i < N_MODES && strcmp(MODES[i].name, token) != 0; i++)
                ;
            if (i == N_MODES) {
                fprintf(stderr, "misbehave: unknown mode '%s' in MISBEHAVE; known:\n", token);
                for (i = 0; i < N_MODES; i++)
                    fprintf(stderr, "  %-24s %s\n", MODES[i].name, MODES[i].what);
                free(copy);
                return -1;
            }
            modes |= 1UL << MODES[i].bit;
        }
        free(copy);
    }
    slot_index = env_long("MISBEHAVE_SLOT", -1);
    object_index = env_long("MISBEHAVE_OBJECT", -1);
    after = (unsigned long)env_long("MISBEHAVE_AFTER", 0);
    delay_us = env_long("MISBEHAVE_DELAY_US", 0);
    close_pause_us = env_long("MISBEHAVE_CLOSE_PAUSE_US", 0); /* block: integrity */
    path = getenv("MISBEHAVE_LOG");
    if (path && *path && !(logfile = fopen(path, "a"))) {
        fprintf(stderr, "misbehave: cannot open MISBEHAVE_LOG %s\n", path);
        return -1;
    }
    return 0;
}

/* --- which slot, session and object misbehave ------------------------------------- */

static int slot_targeted(CK_SLOT_ID slot)
{
    CK_ULONG n = 0;
    CK_SLOT_ID *ids;

    if (slot_index < 0)
        return 1;
    if (!target_resolved) {
        target_resolved = 1;
        if (real->C_GetSlotList(CK_FALSE, NULL, &n) == CKR_OK && (ids = calloc(n + 1, sizeof *ids))) {
            if (real->C_GetSlotList(CK_FALSE, ids, &n) == CKR_OK && (unsigned long)slot_index < n) {
                target_slot = ids[slot_index];
                target_exists = 1;
            }
            free(ids);
        }
        if (!target_exists)
            fprintf(stderr, "misbehave: MISBEHAVE_SLOT=%ld: no such slot\n", slot_index);
    }
    return target_exists && slot == target_slot;
}

static int session_targeted(CK_SESSION_HANDLE session)
{
    CK_SESSION_INFO info;

    return real->C_GetSessionInfo(session, &info) == CKR_OK && slot_targeted(info.slotID);
}

static int object_targeted(CK_OBJECT_HANDLE object)
{
    return object_index < 0 || ((unsigned long)object_index < n_found && found[object_index] == object);
}

/* --- the wrappers --------------------------------------------------------------------- */

static CK_RV mb_Initialize(void *args)
{
    round_trip();
    logcall("C_Initialize");
    if (ON(FORK_HELPER) && fork() == 0) {
        logcall("helper");
        for (;;)
            pause();
    }
    if (ON(PIN_ENV))
        logcall("environ UKEYTOOL_PIN=%d UKEYTOOL_PKCS12_PASSWORD=%d", getenv("UKEYTOOL_PIN") != NULL,
                getenv("UKEYTOOL_PKCS12_PASSWORD") != NULL);
    if (ON(INIT_HANG))
        for (;;)
            pause();
    if (ON(INIT_CRASH))
        raise(SIGSEGV);
    if (ON(INIT_ARGS_BAD))
        return CKR_ARGUMENTS_BAD;
    slotlist_grew = target_resolved = target_exists = 0;
    n_found = find_returned = 0;
    n_read_started = n_info_seen = 0; /* block: integrity */
    return real->C_Initialize(args);
}

static CK_RV mb_Finalize(void *reserved)
{
    CK_RV rv;
    int mis;
    round_trip();

    if (ON(FINALIZE_CRASH) || ON(FINALIZE_HANG)) {
        logcall("C_Finalize rv=0x0 mis=1");
        if (ON(FINALIZE_CRASH))
            raise(SIGSEGV);
        for (;;)
            pause();
    }
    rv = real->C_Finalize(reserved);
    mis = ON(FINALIZE_ERROR) && rv == CKR_OK;

    if (mis)
        rv = CKR_DEVICE_ERROR;
    logcall("C_Finalize rv=0x%lx mis=%d", rv, mis);
    return rv;
}

static CK_RV mb_GetInfo(CK_INFO *info)
{
    CK_RV rv = real->C_GetInfo(info);
    round_trip();

    logcall("C_GetInfo rv=0x%lx", rv);
    return rv;
}

static CK_RV mb_GetSlotList(CK_BBOOL present, CK_SLOT_ID *ids, CK_ULONG *count)
{
    CK_RV rv = real->C_GetSlotList(present, ids, count);
    round_trip();

    if ((ON(SLOTS_HUGE) || ON(SLOTS_MANY)) && rv == CKR_OK && count) {
        /* Claims absurdly many; a fill of that size would get the real slots only. */
        if (!ids)
            *count = ON(SLOTS_HUGE) ? (CK_ULONG)1 << 62 : (CK_ULONG)200000000UL;
        logcall("C_GetSlotList fill=%d count=%lu rv=0x%lx mis=1", ids != NULL, *count, rv);
        return rv;
    }
    if (ON(SLOTLIST_GROWS) && ids && rv == CKR_OK && !slotlist_grew) {
        slotlist_grew = 1; /* a token was plugged in between the size query and the fill */
        *count += 1;
        rv = CKR_BUFFER_TOO_SMALL;
    }
    logcall("C_GetSlotList fill=%d count=%lu rv=0x%lx", ids != NULL, count ? *count : 0, rv);
    return rv;
}

static CK_RV mb_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO *info)
{
    CK_RV rv;
    round_trip();

    if ((ON(SLOTINFO_CRASH) || ON(SLOTINFO_HANG)) && slot_targeted(slot)) {
        logcall("C_GetSlotInfo slot=%lu rv=0x0 mis=1", slot);
        if (ON(SLOTINFO_CRASH))
            raise(SIGSEGV);
        for (;;)
            pause();
    }
    rv = real->C_GetSlotInfo(slot, info);
    if (ON(TOKEN_REMOVED_AFTER_READ) && rv == CKR_OK && info &&
        slot_in(read_started, n_read_started, slot)) { /* block: integrity */
        info->flags &= ~(CK_FLAGS)CKF_TOKEN_PRESENT;
        logcall("C_GetSlotInfo slot=%lu rv=0x%lx mis=1", slot, rv);
        return rv;
    }

    logcall("C_GetSlotInfo slot=%lu rv=0x%lx", slot, rv);
    return rv;
}

static CK_RV mb_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
    round_trip();
    static const struct { int bit; CK_RV rv; } FAIL[] = {
        {TOKENINFO_NOT_PRESENT, CKR_TOKEN_NOT_PRESENT},
        {TOKENINFO_DEVICE_ERROR, CKR_DEVICE_ERROR},
        {TOKENINFO_SLOT_INVALID, CKR_SLOT_ID_INVALID},
        {VENDOR_RV, VENDOR_CODE},
    };
    static const struct { int bit; CK_FLAGS flag; } FLAG[] = {
        {PIN_COUNT_LOW, CKF_USER_PIN_COUNT_LOW},
        {PIN_FINAL_TRY, CKF_USER_PIN_FINAL_TRY},
        {PIN_LOCKED, CKF_USER_PIN_LOCKED},
        {VENDOR_FLAGS, VENDOR_FLAG},
        {PROTECTED_AUTH, CKF_PROTECTED_AUTHENTICATION_PATH},
    };
    int target = slot_targeted(slot), mis = 0;
    CK_RV rv = CKR_OK;
    size_t i;

    for (i = 0; target && i < sizeof FAIL / sizeof FAIL[0]; i++)
        if (ON(FAIL[i].bit)) {
            rv = FAIL[i].rv;
            mis = 1;
        }
    if (ON(TOKEN_REMOVED_AFTER_READ) && slot_in(read_started, n_read_started, slot)) {
        rv = CKR_TOKEN_NOT_PRESENT; /* block: integrity */
        mis = 1;
    }
    if (!mis) {
        rv = real->C_GetTokenInfo(slot, info);
        if (ON(TOKEN_SWAPPED) && target && rv == CKR_OK && info) { /* block: integrity */
            if (slot_in(info_seen, n_info_seen, slot)) {
                memcpy(info->serialNumber, "SWAPPEDTOKEN0001", sizeof info->serialNumber);
                mis = 1;
            }
            slot_add(info_seen, &n_info_seen, slot);
        }
        for (i = 0; target && rv == CKR_OK && i < sizeof FLAG / sizeof FLAG[0]; i++)
            if (ON(FLAG[i].bit)) {
                info->flags |= FLAG[i].flag;
                mis = 1;
            }
    }
    logcall("C_GetTokenInfo slot=%lu rv=0x%lx mis=%d", slot, rv, mis);
    return rv;
}

static CK_RV mb_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, void *app, CK_NOTIFY notify,
                            CK_SESSION_HANDLE *session)
{
    int mis = ON(RW_ONLY) && !(flags & CKF_RW_SESSION) && slot_targeted(slot);
    CK_RV rv = mis ? RW_ONLY_CODE : real->C_OpenSession(slot, flags, app, notify, session);
    round_trip();
    if (ON(TOKEN_REMOVED_AFTER_READ) && rv == CKR_OK && slot_targeted(slot))
        slot_add(read_started, &n_read_started, slot); /* block: integrity */

    logcall("C_OpenSession slot=%lu flags=0x%lx rv=0x%lx mis=%d", slot, flags, rv, mis);
    return rv;
}

static CK_RV mb_CloseSession(CK_SESSION_HANDLE session)
{
    int mis = ON(CLOSE_SESSION_INVALID) && session_targeted(session);
    CK_RV rv = real->C_CloseSession(session); /* closed for real: SoftHSM keeps no leak */
    round_trip();

    if (mis)
        rv = CKR_SESSION_HANDLE_INVALID;
    if (close_pause_us > 0)
        usleep((useconds_t)close_pause_us); /* block: integrity */
    logcall("C_CloseSession rv=0x%lx mis=%d", rv, mis);
    return rv;
}

/* block: integrity (issue 13) */
static CK_RV mb_GetSessionInfo(CK_SESSION_HANDLE session, CK_SESSION_INFO *info)
{
    CK_RV rv = real->C_GetSessionInfo(session, info);
    int mis = 0;
    round_trip();

    if (ON(TOKEN_REMOVED_AFTER_READ) && rv == CKR_OK && info &&
        slot_in(read_started, n_read_started, info->slotID)) {
        rv = CKR_DEVICE_REMOVED;
        mis = 1;
    }
    logcall("C_GetSessionInfo rv=0x%lx mis=%d", rv, mis);
    return rv;
}
/* end of block: integrity */

static CK_RV mb_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR *pin,
                      CK_ULONG pin_len)
{
    round_trip();
    /* Locked: the real module is not asked, so no test ever spends a PIN try. */
    int mis = ON(LOGIN_PIN_LOCKED) && session_targeted(session);
    const char *pad = getenv("MISBEHAVE_PAD_PIN");
    int padded = !mis && !pin && ON(PROTECTED_AUTH) && session_targeted(session) && pad;
    CK_RV rv;

    if (ON(LOGIN_CRASH) && session_targeted(session)) {
        logcall("C_Login user=%lu pin=%d rv=0x0 mis=1", user, pin != NULL);
        raise(SIGSEGV);
    }
    if (mis)
        rv = CKR_PIN_LOCKED;
    else if (padded)
        rv = real->C_Login(session, user, (CK_UTF8CHAR *)pad, strlen(pad));
    else
        rv = real->C_Login(session, user, pin, pin_len);
    /* The PIN is never logged; only whether one was passed (pin=0: NULL, for a pad). */
    logcall("C_Login user=%lu pin=%d rv=0x%lx mis=%d", user, pin != NULL, rv, mis || padded);
    return rv;
}

static CK_RV mb_Logout(CK_SESSION_HANDLE session)
{
    CK_RV rv = real->C_Logout(session);
    round_trip();

    logcall("C_Logout rv=0x%lx", rv);
    return rv;
}

static CK_RV mb_FindObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_RV rv;

    if ((ON(FIND_CRASH) || ON(FIND_HANG)) && session_targeted(session)) { /* block: select */
        logcall("C_FindObjectsInit n=%lu rv=0x0 mis=1", n);
        if (ON(FIND_CRASH))
            raise(SIGSEGV);
        for (;;)
            pause();
    }
    rv = real->C_FindObjectsInit(session, tmpl, n);
    round_trip();

    find_returned = 0;
    logcall("C_FindObjectsInit n=%lu rv=0x%lx", n, rv);
    return rv;
}

static CK_RV mb_FindObjects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE *handles, CK_ULONG max,
                            CK_ULONG *count)
{
    int target = session_targeted(session), mis = 0;
    CK_RV rv;
    CK_ULONG i;
    round_trip();

    if (target && (ON(FIND_DEVICE_REMOVED) || ON(FIND_SESSION_INVALID))) {
        if (find_returned >= after) {
            rv = ON(FIND_DEVICE_REMOVED) ? CKR_DEVICE_REMOVED : CKR_SESSION_HANDLE_INVALID;
            if (count)
                *count = 0;
            logcall("C_FindObjects max=%lu returned=0 rv=0x%lx mis=1", max, rv);
            return rv;
        }
        if (max > after - find_returned) {
            max = after - find_returned; /* so exactly MISBEHAVE_AFTER handles get out */
            mis = 1;
        }
    }
    rv = real->C_FindObjects(session, handles, max, count);
    if (rv == CKR_OK && count) {
        find_returned += *count;
        for (i = 0; target && i < *count && n_found < MAX_FOUND; i++)
            found[n_found++] = handles[i];
    }
    logcall("C_FindObjects max=%lu returned=%lu rv=0x%lx mis=%d", max,
            rv == CKR_OK && count ? *count : 0, rv, mis);
    return rv;
}

static CK_RV mb_FindObjectsFinal(CK_SESSION_HANDLE session)
{
    CK_RV rv = real->C_FindObjectsFinal(session);
    round_trip();

    logcall("C_FindObjectsFinal rv=0x%lx", rv);
    return rv;
}

/* Withhold an attribute the real module filled: length and rv as given, buffer wiped. */
static void withhold(CK_ATTRIBUTE *attr, CK_ULONG offered, CK_ULONG length)
{
    if (attr->pValue)
        memset(attr->pValue, 0, offered);
    attr->ulValueLen = length;
}

#define ATTR_MODES                                                                        \
    ((1UL << ATTR_HUGE_LENGTH) | (1UL << ATTR_UNAVAILABLE_OK) | (1UL << ATTR_SENSITIVE) | \
     (1UL << ATTR_GROWS) | (1UL << ATTR_TYPE_INVALID_LABEL) | (1UL << ATTR_TOO_SMALL) |  \
     (1UL << ATTR_DEVICE_REMOVED))

static CK_RV mb_GetAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                                  CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    int target = (modes & ATTR_MODES) && object_targeted(object) && session_targeted(session);
    int mis = 0;
    CK_ULONG offered[64], i;
    CK_RV rv;
    round_trip();

    for (i = 0; i < n && i < 64; i++)
        offered[i] = tmpl[i].ulValueLen;
    if (target && ON(ATTR_DEVICE_REMOVED)) {
        logcall("C_GetAttributeValue object=%lu n=%lu rv=0x%lx mis=1", object, n,
                (CK_RV)CKR_DEVICE_REMOVED);
        return CKR_DEVICE_REMOVED;
    }
    rv = real->C_GetAttributeValue(session, object, tmpl, n);
    for (i = 0; target && i < n && i < 64; i++) {
        CK_ATTRIBUTE *a = &tmpl[i];

        if (a->type == CKA_LABEL && ON(ATTR_TYPE_INVALID_LABEL)) {
            withhold(a, offered[i], CK_UNAVAILABLE_INFORMATION);
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
            mis = 1;
        }
        if (a->type != CKA_VALUE)
            continue;
        if (ON(ATTR_HUGE_LENGTH)) {
            a->ulValueLen = (CK_ULONG)1 << 40; /* the real value was copied; the length lies */
            mis = 1;
        }
        if (ON(ATTR_UNAVAILABLE_OK)) {
            withhold(a, offered[i], CK_UNAVAILABLE_INFORMATION);
            mis = 1;
        }
        if (ON(ATTR_SENSITIVE)) {
            withhold(a, offered[i], CK_UNAVAILABLE_INFORMATION);
            rv = CKR_ATTRIBUTE_SENSITIVE;
            mis = 1;
        }
        if (ON(ATTR_GROWS) && a->pValue) {
            withhold(a, offered[i], offered[i] + 1);
            rv = CKR_BUFFER_TOO_SMALL;
            mis = 1;
        }
        if (ON(ATTR_TOO_SMALL) && a->pValue && offered[i] < 64 * 1024) {
            withhold(a, offered[i], CK_UNAVAILABLE_INFORMATION);
            rv = CKR_BUFFER_TOO_SMALL;
            mis = 1;
        }
    }
    logcall("C_GetAttributeValue object=%lu n=%lu rv=0x%lx mis=%d", object, n, rv, mis);
    return rv;
}

/* --- the entry point -------------------------------------------------------------------- */

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    static int state; /* 0: not yet, 1: ready, -1: failed */
    const char *path = getenv("MISBEHAVE_REAL");
    CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
    void *handle;

    if (!out)
        return CKR_ARGUMENTS_BAD;
    if (state == 0) {
        state = -1;
        if (configure() != 0)
            return CKR_GENERAL_ERROR;
        if (!path || !*path) {
            fprintf(stderr, "misbehave: MISBEHAVE_REAL (the real module's path) is not set\n");
            return CKR_GENERAL_ERROR;
        }
        if (!(handle = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
            fprintf(stderr, "misbehave: cannot load MISBEHAVE_REAL: %s\n", dlerror());
            return CKR_GENERAL_ERROR;
        }
        *(void **)&get = dlsym(handle, "C_GetFunctionList");
        if (!get || get(&real) != CKR_OK || !real) {
            fprintf(stderr, "misbehave: %s has no usable C_GetFunctionList\n", path);
            return CKR_GENERAL_ERROR;
        }
        list = *real;
        list.C_Initialize = mb_Initialize;
        list.C_Finalize = mb_Finalize;
        list.C_GetInfo = mb_GetInfo;
        list.C_GetSlotList = mb_GetSlotList;
        list.C_GetSlotInfo = mb_GetSlotInfo;
        list.C_GetTokenInfo = mb_GetTokenInfo;
        list.C_OpenSession = mb_OpenSession;
        list.C_CloseSession = mb_CloseSession;
        list.C_GetSessionInfo = mb_GetSessionInfo; /* block: integrity */
        list.C_Login = mb_Login;
        list.C_Logout = mb_Logout;
        list.C_FindObjectsInit = mb_FindObjectsInit;
        list.C_FindObjects = mb_FindObjects;
        list.C_FindObjectsFinal = mb_FindObjectsFinal;
        list.C_GetAttributeValue = mb_GetAttributeValue;
        state = ON(FUNCTION_LIST_ERROR) ? -1 : 1;
    }
    if (state != 1)
        return CKR_GENERAL_ERROR;
    *out = ON(FUNCTION_LIST_NULL) ? NULL : &list;
    return CKR_OK;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Provider secrets at rest (secrets.h): keys from a file or the environment, AES-256-GCM sealing
 * with libcrypto. Used by the store's dispatch layer (store.c) and by the CLI for key files. */
#include "base/prelude.h"
#include "store/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define NONCE_LEN 12
#define TAG_LEN 16
#define CLEAR_MAX 1023
#define KEY_FILE_MAX 256

/* ---- keys ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The id is a hash of the key under a label, never the key itself. */
static void derive_kid(struct secrets_key *k)
{
    static const char label[] = "opendni secrets key id v1";
    unsigned char in[sizeof(label) + SECRETS_KEY_LEN];
    unsigned char md[SHA256_DIGEST_LENGTH];
    memcpy(in, label, sizeof(label));
    memcpy(in + sizeof(label), k->key, SECRETS_KEY_LEN);
    SHA256(in, sizeof(in), md);
    for (int i = 0; i < SECRETS_KID_LEN / 2; i++)
        snprintf(k->kid + 2 * i, 3, "%02x", md[i]);
    OPENSSL_cleanse(in, sizeof(in));
}

int secrets_key_parse(const char *text, struct secrets_key *out, struct errbuf *eb)
{
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    size_t n = strcspn(text, " \t\r\n");
    if (n != 2 * SECRETS_KEY_LEN || text[n + strspn(text + n, " \t\r\n")] != '\0')
        return errf(eb, ERR_INVALID, "secrets_key",
                    "a secrets key is 64 hex digits (32 random bytes: opendni secrets keygen)");
    for (size_t i = 0; i < SECRETS_KEY_LEN; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return errf(eb, ERR_INVALID, "secrets_key", "a secrets key is 64 hex digits");
        out->key[i] = (unsigned char)(hi << 4 | lo);
    }
    derive_kid(out);
    return ERR_OK;
}

int secrets_key_load(const char *path, struct secrets_key *out, struct errbuf *eb)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errf(eb, ERR_IO, "secrets_key_file", "cannot open secrets key file '%s': %s", path,
                    strerror(errno));
    struct stat st;
    char text[KEY_FILE_MAX + 1];
    ssize_t n = -1;
    int rc = ERR_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = errf(eb, ERR_IO, "secrets_key_file", "'%s' is not a regular file", path);
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        rc = errf(eb, ERR_INVALID, "secrets_key_file",
                  "secrets key file '%s' is readable by others: chmod 600 it", path);
    else if ((n = read(fd, text, KEY_FILE_MAX)) < 0)
        rc = errf(eb, ERR_IO, "secrets_key_file", "cannot read '%s': %s", path, strerror(errno));
    close(fd);
    if (rc == ERR_OK) {
        text[n] = '\0';
        rc = secrets_key_parse(text, out, NULL);
        if (rc)
            rc = errf(eb, rc, "secrets_key_file",
                      "secrets key file '%s' does not hold a key (64 hex digits)", path);
    }
    OPENSSL_cleanse(text, sizeof(text));
    return rc;
}

int secrets_key_configured(const char *path, struct secrets_key *out, bool *found,
                           struct errbuf *eb)
{
    *found = false;
    if (path && *path) {
        int rc = secrets_key_load(path, out, eb);
        *found = rc == ERR_OK;
        return rc;
    }
    const char *env = getenv(SECRETS_ENV);
    if (!env || !*env)
        return ERR_OK;
    if (secrets_key_parse(env, out, NULL) != ERR_OK)
        return errf(eb, ERR_INVALID, "secrets_key",
                    SECRETS_ENV " does not hold a key (64 hex digits)");
    *found = true;
    return ERR_OK;
}

int secrets_key_generate(const char *path, struct secrets_key *out, struct errbuf *eb)
{
    struct secrets_key k;
    if (RAND_bytes(k.key, SECRETS_KEY_LEN) != 1)
        return errf(eb, ERR_IO, NULL, "no randomness for a new key");
    derive_kid(&k);
    char text[2 * SECRETS_KEY_LEN + 2];
    for (int i = 0; i < SECRETS_KEY_LEN; i++)
        snprintf(text + 2 * i, 3, "%02x", k.key[i]);
    text[2 * SECRETS_KEY_LEN] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        OPENSSL_cleanse(&k, sizeof(k));
        return errf(eb, e == EEXIST ? ERR_CONFLICT : ERR_IO, NULL, "cannot create '%s': %s", path,
                    strerror(e));
    }
    bool ok = write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    OPENSSL_cleanse(text, sizeof(text));
    if (!ok) {
        unlink(path);
        OPENSSL_cleanse(&k, sizeof(k));
        return errf(eb, ERR_IO, NULL, "cannot write '%s'", path);
    }
    if (out)
        *out = k;
    OPENSSL_cleanse(&k, sizeof(k));
    return ERR_OK;
}

/* ---- sealing ---- */

bool secrets_is_sealed(const char *v)
{
    return v && strncmp(v, SECRETS_PREFIX, strlen(SECRETS_PREFIX)) == 0;
}

bool secrets_kid_of(const char *v, char kid[SECRETS_KID_LEN + 1])
{
    if (!secrets_is_sealed(v))
        return false;
    const char *p = v + strlen(SECRETS_PREFIX);
    if (strspn(p, "0123456789abcdef") != SECRETS_KID_LEN || p[SECRETS_KID_LEN] != ':')
        return false;
    memcpy(kid, p, SECRETS_KID_LEN);
    kid[SECRETS_KID_LEN] = '\0';
    return true;
}

/* The associated data: which row the value belongs to. */
static int aad_of(int64_t account_id, const char *provider, char *out, size_t cap)
{
    return snprintf(out, cap, "opendni provider secret v1|%" PRId64 "|%s", account_id, provider);
}

/* AES-256-GCM in one direction over in (len bytes) into out; tag is written (encrypt) or
 * checked (decrypt). true on success (decrypt: the value authenticated). */
/* AES-256-GCM fetched once: EVP_aes_256_gcm() makes every EVP_CipherInit_ex fetch the
 * implementation again (a webhook opens its account's sealed token per request). */
static pthread_once_t aes_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aes_gcm;

static void aes_fetch(void)
{
    aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static bool gcm(bool encrypt, const struct secrets_key *key, const unsigned char *nonce,
                const char *aad, const unsigned char *in, int len, unsigned char *out,
                unsigned char *tag)
{
    pthread_once(&aes_once, aes_fetch);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    const EVP_CIPHER *cipher = aes_gcm ? aes_gcm : EVP_aes_256_gcm();
    bool ok = ctx && EVP_CipherInit_ex(ctx, cipher, NULL, NULL, NULL, encrypt) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
              EVP_CipherInit_ex(ctx, NULL, NULL, key->key, nonce, encrypt) == 1 &&
              EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
              EVP_CipherUpdate(ctx, out, &n, in, len) == 1;
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

int secrets_seal(const struct secrets_key *key, int64_t account_id, const char *provider,
                 const char *clear, char *out, size_t cap)
{
    size_t len = strlen(clear);
    if (len > CLEAR_MAX)
        return ERR_INVALID;
    unsigned char raw[NONCE_LEN + CLEAR_MAX + TAG_LEN];
    char aad[128];
    aad_of(account_id, provider, aad, sizeof(aad));
    if (RAND_bytes(raw, NONCE_LEN) != 1 || !gcm(true, key, raw, aad, (const unsigned char *)clear,
                                                (int)len, raw + NONCE_LEN, raw + NONCE_LEN + len))
        return ERR_BACKEND;
    size_t raw_len = NONCE_LEN + len + TAG_LEN;
    size_t head = strlen(SECRETS_PREFIX) + SECRETS_KID_LEN + 1;
    if (cap < head + (raw_len + 2) / 3 * 4 + 1)
        return ERR_TOOBIG;
    snprintf(out, cap, SECRETS_PREFIX "%s:", key->kid);
    EVP_EncodeBlock((unsigned char *)out + head, raw, (int)raw_len);
    OPENSSL_cleanse(raw, sizeof(raw));
    return ERR_OK;
}

int secrets_open(const struct secrets_key *key, int64_t account_id, const char *provider,
                 const char *v, char *out, size_t cap)
{
    char kid[SECRETS_KID_LEN + 1];
    if (!secrets_kid_of(v, kid) || strcmp(kid, key->kid) != 0)
        return ERR_INVALID;
    const char *b64 = v + strlen(SECRETS_PREFIX) + SECRETS_KID_LEN + 1;
    size_t chars = strlen(b64);
    unsigned char raw[(SECRETS_SEALED_MAX / 4 + 1) * 3];
    if (chars % 4 || chars / 4 * 3 > sizeof(raw))
        return ERR_INVALID;
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)chars);
    size_t pad = chars >= 2 ? (b64[chars - 1] == '=') + (b64[chars - 2] == '=') : 0;
    if (n < 0 || (size_t)n < pad + NONCE_LEN + TAG_LEN)
        return ERR_INVALID;
    size_t len = (size_t)n - pad - NONCE_LEN - TAG_LEN;
    if (len + 1 > cap)
        return ERR_TOOBIG;
    char aad[128];
    aad_of(account_id, provider, aad, sizeof(aad));
    bool ok = gcm(false, key, raw, aad, raw + NONCE_LEN, (int)len, (unsigned char *)out,
                  raw + NONCE_LEN + len);
    out[ok ? len : 0] = '\0';
    if (!ok)
        OPENSSL_cleanse(out, cap);
    return ok ? ERR_OK : ERR_INVALID;
}

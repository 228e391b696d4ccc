package tools

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"sync"
)

// posAEAD encrypts the positions this server puts in cursors. The binder
// signs a cursor but does not hide it, and a position is made of upstream
// facts: a file offset (from which a masked value's length follows), a
// Loki timestamp and line hashes of lines a filter dropped (which would
// tell that a probe matched an unmasked line there). Encrypted, a cursor
// tells the caller nothing. The key is per process: a cursor from another
// process is refused, and the caller starts over.
var posAEAD = sync.OnceValue(func() cipher.AEAD {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
})

var errPos = errors.New("invalid cursor: pass it back exactly as given (a cursor from before a server restart is refused; start over without it)")

// sealPos encrypts a position.
func sealPos(plain []byte) string {
	a := posAEAD()
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(a.Seal(nonce, nonce, plain, nil))
}

// openPos decrypts a position sealPos made.
func openPos(s string) ([]byte, error) {
	a := posAEAD()
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < a.NonceSize() {
		return nil, errPos
	}
	plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], nil)
	if err != nil {
		return nil, errPos
	}
	return plain, nil
}

package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// CodeDeviceProofInvalid is the answer to any failed desktop device proof: unknown device, used or expired
// challenge, bad signature, wrong hardware token. It does not say which.
const CodeDeviceProofInvalid Code = "device_proof_invalid"

// ChallengeLifetime is how long a desktop login challenge can be answered.
const ChallengeLifetime = 2 * time.Minute

func desktopSecretHash(publicKey, tokenHash []byte) []byte {
	h := sha256.New()
	h.Write([]byte("pult desktop device v1\x00"))
	h.Write(publicKey)
	h.Write(tokenHash)
	return h.Sum(nil)
}

// RegisterDesktopDevice records a desktop app's Ed25519 public key and the hash of its hardware token. The
// server never sees the private key, nor the token itself.
func (db *DB) RegisterDesktopDevice(ctx context.Context, publicKey, tokenHash []byte) (string, error) {
	if err := checkDesktopKey(publicKey, tokenHash); err != nil {
		return "", err
	}
	var id string
	err := db.writeTx(ctx, func(tx *sql.Tx) (err error) {
		id, err = db.insertDesktopDevice(ctx, tx, publicKey, tokenHash)
		return err
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

func checkDesktopKey(publicKey, tokenHash []byte) error {
	f := FieldErrors{}
	if len(publicKey) != ed25519.PublicKeySize {
		f.Add("publicKey", FieldInvalid)
	}
	if len(tokenHash) != sha256.Size {
		f.Add("tokenHash", FieldInvalid)
	}
	return f.Err("device")
}

// insertDesktopDevice records a checked desktop key and token hash under a new device id.
func (db *DB) insertDesktopDevice(ctx context.Context, tx *sql.Tx, publicKey, tokenHash []byte) (string, error) {
	id := NewID()
	_, err := tx.ExecContext(ctx, `INSERT INTO devices (id, kind, secret_hash, public_key, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, DeviceDesktop, desktopSecretHash(publicKey, tokenHash), publicKey, db.now().Unix())
	if err != nil {
		return "", fmt.Errorf("register desktop device: %w", err)
	}
	return id, nil
}

// NewChallenge issues a single-use login challenge for a desktop device.
func (db *DB) NewChallenge(ctx context.Context, deviceID string) (string, time.Time, error) {
	if !ValidID(deviceID) {
		return "", time.Time{}, Errorf(CodeDeviceProofInvalid, "unknown device")
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	challenge := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(challenge))
	expires := db.now().Add(ChallengeLifetime)
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE id = ? AND kind = ?`, deviceID, DeviceDesktop).Scan(&n); err != nil {
			return fmt.Errorf("check device: %w", err)
		}
		if n == 0 {
			return Errorf(CodeDeviceProofInvalid, "unknown device")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM device_challenges WHERE expires_at < ?`, db.now().Unix()); err != nil {
			return fmt.Errorf("expire challenges: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO device_challenges (challenge_hash, device_id, expires_at) VALUES (?, ?, ?)`, sum[:], deviceID, expires.Unix())
		return err
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return challenge, expires, nil
}

// LoginMessage is what a desktop device signs to log a user in: bound to the challenge and the username, so a
// signature serves for nothing else.
func LoginMessage(challenge, username string) []byte {
	return []byte("pult login v1\x00" + challenge + "\x00" + username)
}

// DeviceMessage is what a desktop device signs to prove itself for anything but a login: its status, the
// receipt of a wipe. The purpose is part of the message, so a signature serves for that purpose only.
func DeviceMessage(purpose, challenge string) []byte {
	return []byte("pult device v1\x00" + purpose + "\x00" + challenge)
}

// VerifyDesktopProof checks a desktop device's answer to a login challenge and uses the challenge up, so the
// same signature never works twice.
func (db *DB) VerifyDesktopProof(ctx context.Context, deviceID, challenge string, signature, tokenHash []byte, username string) error {
	return db.VerifyDeviceSignature(ctx, deviceID, challenge, LoginMessage(challenge, username), signature, tokenHash)
}

// VerifyDeviceSignature checks a desktop device's signature over message, which the caller built from challenge
// (LoginMessage, DeviceMessage), and uses the challenge up, so the same signature never works twice.
func (db *DB) VerifyDeviceSignature(ctx context.Context, deviceID, challenge string, message, signature, tokenHash []byte) error {
	invalid := Errorf(CodeDeviceProofInvalid, "device proof refused")
	sum := sha256.Sum256([]byte(challenge))
	var pub, secretHash []byte
	var expires int64
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM device_challenges WHERE challenge_hash = ? AND device_id = ? RETURNING expires_at`, sum[:], deviceID).Scan(&expires)
		if errors.Is(err, sql.ErrNoRows) {
			return invalid
		}
		if err != nil {
			return fmt.Errorf("use challenge: %w", err)
		}
		err = tx.QueryRowContext(ctx, `SELECT public_key, secret_hash FROM devices WHERE id = ? AND kind = ?`, deviceID, DeviceDesktop).Scan(&pub, &secretHash)
		if errors.Is(err, sql.ErrNoRows) {
			return invalid
		}
		return err
	})
	if err != nil {
		return err
	}
	if db.now().Unix() > expires || len(pub) != ed25519.PublicKeySize || len(signature) != ed25519.SignatureSize ||
		!ed25519.Verify(ed25519.PublicKey(pub), message, signature) ||
		subtle.ConstantTimeCompare(desktopSecretHash(pub, tokenHash), secretHash) != 1 {
		return invalid
	}
	return nil
}

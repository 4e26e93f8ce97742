// The audit log's wording: actions, outcomes and reasons, kept out of the view so they can be tested.

import type { MessageKey } from './i18n/de'
import type { Message } from './i18n/errors'

/** Every action of api.md's AuditEntry. */
export const AUDIT_ACTIONS = [
  'login',
  'setup',
  'device_approved',
  'device_rejected',
  'device_blocked',
  'device_renamed',
  'device_removed',
  'learning_mode_enabled',
  'learning_mode_ended',
  'user_created',
  'user_changed',
  'user_unlocked',
  'password_reset',
  'ip_ranges_changed',
  'recovery_codes_created',
  'recovered_on_server',
  'operator_granted',
  'operator_revoked',
  'parent_confirmed',
  'parent_password_reset',
  'parent_password_changed',
  'parent_account_deleted',
  'device_enrolled',
  'device_wipe_requested',
  'device_wiped',
  'licenses_created',
  'license_assigned',
  'license_detached',
  'license_deleted',
  'device_policy_changed',
  'access_code_issued',
  'access_code_revoked',
  'access_code_redeem',
  'letters_printed',
  'letters_mailed',
  'child_shared',
  'share_revoked',
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]

/** Every reason of an audit entry the UI words. Others (free text such as the stored ranges) are shown as they are. */
export const AUDIT_REASONS = [
  'wrong_password',
  'unknown_user',
  'locked',
  'inactive',
  'device_pending',
  'device_blocked',
  'outside_ip_range',
  'trusted_device',
  'learning_mode',
  'wrong_code',
  'recovery_code',
  'wrong_recovery_code',
  'device_proof_invalid',
  'teacher_license',
  'location_license',
  'license_invalid',
  'license_in_use',
  'rate_limited',
] as const
export type AuditReason = (typeof AUDIT_REASONS)[number]

const actionKeys: Record<AuditAction, MessageKey> = {
  login: 'auditAction.login',
  setup: 'auditAction.setup',
  device_approved: 'auditAction.device_approved',
  device_rejected: 'auditAction.device_rejected',
  device_blocked: 'auditAction.device_blocked',
  device_renamed: 'auditAction.device_renamed',
  device_removed: 'auditAction.device_removed',
  learning_mode_enabled: 'auditAction.learning_mode_enabled',
  learning_mode_ended: 'auditAction.learning_mode_ended',
  user_created: 'auditAction.user_created',
  user_changed: 'auditAction.user_changed',
  user_unlocked: 'auditAction.user_unlocked',
  password_reset: 'auditAction.password_reset',
  ip_ranges_changed: 'auditAction.ip_ranges_changed',
  recovery_codes_created: 'auditAction.recovery_codes_created',
  recovered_on_server: 'auditAction.recovered_on_server',
  operator_granted: 'auditAction.operator_granted',
  operator_revoked: 'auditAction.operator_revoked',
  parent_confirmed: 'auditAction.parent_confirmed',
  parent_password_reset: 'auditAction.parent_password_reset',
  parent_password_changed: 'auditAction.parent_password_changed',
  parent_account_deleted: 'auditAction.parent_account_deleted',
  device_enrolled: 'auditAction.device_enrolled',
  device_wipe_requested: 'auditAction.device_wipe_requested',
  device_wiped: 'auditAction.device_wiped',
  licenses_created: 'auditAction.licenses_created',
  license_assigned: 'auditAction.license_assigned',
  license_detached: 'auditAction.license_detached',
  license_deleted: 'auditAction.license_deleted',
  device_policy_changed: 'auditAction.device_policy_changed',
  access_code_issued: 'auditAction.access_code_issued',
  access_code_revoked: 'auditAction.access_code_revoked',
  access_code_redeem: 'auditAction.access_code_redeem',
  letters_printed: 'auditAction.letters_printed',
  letters_mailed: 'auditAction.letters_mailed',
  child_shared: 'auditAction.child_shared',
  share_revoked: 'auditAction.share_revoked',
}

const reasonKeys: Record<AuditReason, MessageKey> = {
  wrong_password: 'auditReason.wrong_password',
  unknown_user: 'auditReason.unknown_user',
  locked: 'auditReason.locked',
  inactive: 'auditReason.inactive',
  device_pending: 'auditReason.device_pending',
  device_blocked: 'auditReason.device_blocked',
  outside_ip_range: 'auditReason.outside_ip_range',
  trusted_device: 'auditReason.trusted_device',
  learning_mode: 'auditReason.learning_mode',
  wrong_code: 'auditReason.wrong_code',
  recovery_code: 'auditReason.recovery_code',
  wrong_recovery_code: 'auditReason.wrong_recovery_code',
  device_proof_invalid: 'auditReason.device_proof_invalid',
  teacher_license: 'auditReason.teacher_license',
  location_license: 'auditReason.location_license',
  license_invalid: 'auditReason.license_invalid',
  license_in_use: 'auditReason.license_in_use',
  rate_limited: 'auditReason.rate_limited',
}

const outcomeKeys: Record<string, MessageKey> = {
  allowed: 'auditOutcome.allowed',
  refused: 'auditOutcome.refused',
  done: 'auditOutcome.done',
}

const roleKeys: Record<string, MessageKey> = {
  admin: 'role.admin',
  teacher: 'role.teacher',
}

/** A text as it came, for values the UI has no words for. */
function raw(value: string): Message {
  return { key: 'audit.raw', params: { value } }
}

/** "Anmeldung", "Gerät freigegeben", …; an unknown action is shown as it is. */
export function auditActionMessage(action: string): Message {
  return Object.hasOwn(actionKeys, action) ? { key: actionKeys[action as AuditAction] } : raw(action)
}

/** "erlaubt", "abgelehnt", "erledigt"; an unknown outcome is shown as it is. */
export function auditOutcomeMessage(outcome: string): Message {
  return Object.hasOwn(outcomeKeys, outcome) ? { key: outcomeKeys[outcome] } : raw(outcome)
}

/**
 * Why something was decided: the known codes in words, the role of a new account as its name, and anything else
 * (e.g. the stored IP ranges) as it is; "" stays "".
 */
export function auditReasonMessage(reason: string, action = ''): Message {
  if (Object.hasOwn(reasonKeys, reason)) return { key: reasonKeys[reason as AuditReason] }
  if (action === 'user_created' && Object.hasOwn(roleKeys, reason)) return { key: roleKeys[reason] }
  const policy = /^pin_attempts=(\d+) idle_minutes=(\d+) offline_days=(\d+) wipe_days=(\d+)$/.exec(reason)
  if (action === 'device_policy_changed' && policy) {
    const [, attempts, minutes, grace, wipe] = policy
    return { key: 'auditReason.device_policy', params: { attempts, minutes, grace, wipe } }
  }
  return raw(reason)
}

/** The short form of a device id in the table: its last 8 characters, which are random (a UUIDv7 starts with
 * its creation time, so devices made in the same minute would share their first characters). */
export function shortDeviceId(id: string): string {
  return id.slice(-8)
}

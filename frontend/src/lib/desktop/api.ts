// The desktop app's own routes (docs/desktop.md, /api/v1/device/…). They never reach the backend.

import { api, type ApiClient } from '../api/client'
import type { DesktopDevice } from '../api/types'

/** How a device enrolls with a license: the QR code's content as it is, or the server and code as typed. */
export type EnrollInput = { link: string } | { server: string; licenseCode: string }

export interface EnrollLoginInput {
  server: string
  username: string
  password: string
}

export class DesktopApi {
  private readonly client: ApiClient

  constructor(client: ApiClient) {
    this.client = client
  }

  setLanguage(language: string): Promise<DesktopDevice> {
    return this.client.request('PUT', '/device/language', { language })
  }

  enroll(input: EnrollInput): Promise<DesktopDevice> {
    return this.client.request('POST', '/device/enroll', input)
  }

  /** Enrolls by logging in (learning mode): the device is trusted at once, or waits like a license's. */
  enrollLogin(input: EnrollLoginInput): Promise<DesktopDevice> {
    return this.client.request('POST', '/device/enroll/login', input)
  }

  /** The device; while it is pending, the app asks the backend whether the admin approved it. */
  status(): Promise<DesktopDevice> {
    return this.client.request('GET', '/device/status')
  }

  /** Forgets the enrollment: back to the start. */
  cancel(): Promise<DesktopDevice> {
    return this.client.request('POST', '/device/cancel')
  }

  setPin(pin: string, repeat: string): Promise<DesktopDevice> {
    return this.client.request('POST', '/device/pin', { pin, repeat })
  }

  /** Wrong: 403 `wrong_pin` with `attemptsLeft`; the last wrong one: 410 `wiped`. */
  unlock(pin: string): Promise<DesktopDevice> {
    return this.client.request('POST', '/device/unlock', { pin })
  }

  lock(): Promise<DesktopDevice> {
    return this.client.request('POST', '/device/lock')
  }

  /** 204: the teacher is using the app, so its own idle timeout starts again; 423 locked if it had passed. */
  activity(): Promise<void> {
    return this.client.request('POST', '/device/activity')
  }

  /** 204; a wrong current PIN counts like a wrong unlock. */
  changePin(current: string, pin: string, repeat: string): Promise<void> {
    return this.client.request('POST', '/device/pin/change', { current, pin, repeat })
  }
}

/** The desktop routes of the UI's one client. */
export const desktopApi = new DesktopApi(api)

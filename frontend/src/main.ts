import { mount } from 'svelte'
import './app.css'
import App from './App.svelte'
import { i18n } from './lib/i18n/index.svelte'
import { takeMailTokenFromAddress, takeSetupTokenFromAddress } from './lib/session.svelte'

// Before anything else: take a setup token out of the address bar.
takeSetupTokenFromAddress()
takeMailTokenFromAddress()
document.documentElement.lang = i18n.locale

const target = document.getElementById('app')
if (!target) throw new Error('no #app element')

export default mount(App, { target })

// Desktop notifications of finished downloads. The permission is asked only when the person
// presses the button (#enable-notifications); pressing it again turns them off.

import { $ } from './dom.js';

function notificationsAvailable() { return typeof window.Notification === 'function'; }

/** Notifications are on only after the person pressed the button (stored in this browser);
 *  pressing it again turns them off. The permission prompt appears only on that press. */
function notificationsOn() {
  return notificationsAvailable() && window.Notification.permission === 'granted' && localStorage.getItem('atmo.notify') === 'on';
}

export function updateNotifyButton() {
  const button = $('enable-notifications');
  if (!notificationsAvailable()) {
    button.textContent = 'Notifications not available in this browser';
    button.disabled = true;
    return;
  }
  const permission = window.Notification.permission;
  const on = notificationsOn();
  button.textContent = on ? 'Notifications on (turn off)' : permission === 'denied' ? 'Notifications blocked by the browser' : 'Notify me when downloads finish';
  button.setAttribute('aria-pressed', on ? 'true' : 'false');
  button.disabled = permission === 'denied';
}

export async function enableNotifications() {
  if (!notificationsAvailable()) return;
  if (notificationsOn()) {
    localStorage.setItem('atmo.notify', 'off');
    updateNotifyButton();
    return;
  }
  localStorage.setItem('atmo.notify', 'on');
  if (window.Notification.permission !== 'granted') {
    try {
      await window.Notification.requestPermission();
    } catch { /* an old browser that takes a callback: it asked anyway */ }
  }
  updateNotifyButton();
}

export function notify(title, body) {
  if (!notificationsAvailable()) return;
  if (!notificationsOn()) return;
  try {
    new window.Notification(title, { body, icon: '/ui/icon.svg', tag: `atmo-${title}` });
  } catch (error) {
    console.warn('dashboard: notification', error);
  }
}

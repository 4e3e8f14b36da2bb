/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni demo site: a chat-style help widget that appears a second after load, the way
 * third-party widgets do, to show that numbers in content added later are swapped too. */
(function () {
  'use strict';
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function show() {
    const box = el('aside', 'chat');
    box.setAttribute('aria-label', 'Help');
    const close = el('button', 'chat-close', '\u00d7');
    close.setAttribute('aria-label', 'Close');
    close.addEventListener('click', function () { box.remove(); });
    const msg = el('p', 'chat-msg', 'Hi, I\u2019m Mike. Water where it shouldn\u2019t be? Call me at ');
    const num = el('a', 'chat-phone');
    num.href = 'tel:+15555550100';
    num.appendChild(el('span', null, '555'));
    num.appendChild(document.createTextNode('-'));
    num.appendChild(el('span', null, '555'));
    num.appendChild(document.createTextNode('-0100'));
    msg.appendChild(num);
    msg.appendChild(document.createTextNode('.'));
    box.appendChild(close);
    box.appendChild(el('p', 'chat-title', 'Demo Plumbing \u2022 online'));
    box.appendChild(msg);
    document.body.appendChild(box);
  }
  setTimeout(show, 1000);
})();

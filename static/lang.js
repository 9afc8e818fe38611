// The English switch: `al_lang=en` (set by /console/lang) hides the Chinese labels, before
// the page is drawn. Data (names, products) is never hidden: only template labels are marked.
if (document.cookie.split('; ').indexOf('al_lang=en') >= 0) {
  document.documentElement.classList.add('en');
  document.documentElement.lang = 'en';
}
// The staff member's role (cookie `al_role`, set at login) hides menu entries the role cannot
// use. Only the menu: every request is authorised on the server, whatever this says.
(function () {
  var m = document.cookie.match(/(?:^|; )al_role=([a-z]+)/);
  document.documentElement.dataset.role = m ? m[1] : 'owner';
})();

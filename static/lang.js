// The English switch: `al_lang=en` (set by /console/lang) hides the Chinese labels, before
// the page is drawn. Data (names, products) is never hidden: only template labels are marked.
if (document.cookie.split('; ').indexOf('al_lang=en') >= 0) {
  document.documentElement.classList.add('en');
  document.documentElement.lang = 'en';
}

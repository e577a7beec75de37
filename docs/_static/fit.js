// Scale each display equation that is wider than its column down until it fits (MathJax 3 has
// no automatic line breaking), so that no equation needs sideways scrolling.
function fitEquations() {
  document.querySelectorAll('mjx-container[display="true"]').forEach(function (eq) {
    eq.style.fontSize = "";
    var room = eq.parentElement.clientWidth, need = eq.scrollWidth;
    var inner = eq.firstElementChild;
    if (inner) { need = Math.max(need, inner.getBoundingClientRect().width); }
    if (room > 0 && need > room) {
      eq.style.fontSize = Math.floor(100 * room / need) + "%";
    }
  });
}
window.addEventListener("load", function () {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(fitEquations);
  }
  window.addEventListener("resize", fitEquations);
});

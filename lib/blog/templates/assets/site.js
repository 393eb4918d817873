// Enhancements only: every page reads and works without them (JavaScript off). The theme itself is set by
// the inline script in base.html's <head>, before the first paint; this file only adds the controls.
const THEMES = ["system", "light", "dark"];
const CODE = ".input_area pre, .highlight pre, pre.highlight";

function themeToggle() {
  const button = document.querySelector(".theme-toggle");
  if (!button) return;
  const root = document.documentElement;
  const show = () => { button.textContent = `Theme: ${root.dataset.theme}`; };
  button.addEventListener("click", () => {
    const theme = THEMES[(THEMES.indexOf(root.dataset.theme) + 1) % THEMES.length];
    root.dataset.theme = theme;
    try { localStorage.setItem("theme", theme); } catch { /* storage blocked: the choice lasts this page */ }
    show();
  });
  show();
  button.hidden = false;
}

// The code as it would be typed: console prompts ($, >>>) and the output lines after them left out.
function codeOf(pre) {
  const copy = pre.cloneNode(true);
  copy.querySelectorAll(".gp").forEach((prompt) => prompt.remove());
  copy.querySelectorAll(".go").forEach((output) => {
    const rest = output.nextSibling;  // the output line's newline, outside Pygments' span
    if (rest?.nodeType === Node.TEXT_NODE) rest.data = rest.data.replace(/^\n/, "");
    output.remove();
  });
  return copy.textContent.replace(/\n$/, "");
}

async function copy(pre, button) {
  try {
    await navigator.clipboard.writeText(codeOf(pre));
    button.textContent = "Copied";
  } catch {
    // No clipboard (a page over plain HTTP, or permission refused): select the code for Ctrl+C instead.
    getSelection().selectAllChildren(pre);
    button.textContent = "Selected";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
}

function copyButtons() {
  document.querySelectorAll(CODE).forEach((pre) => {
    const button = Object.assign(document.createElement("button"), { type: "button", className: "copy-button" });
    button.textContent = "Copy";
    button.setAttribute("aria-live", "polite");  // so "Copied" is announced, not only shown
    button.addEventListener("click", () => copy(pre, button));
    // A notebook cell's <pre> sits in a box of its own, which holds the button. Only markdown's code is moved into
    // one: moving a <pre> restyles every token in it, which on a long notebook delays the page.
    if (!pre.parentElement.matches("div.highlight")) {
      const box = Object.assign(document.createElement("div"), { className: "code-block" });
      pre.before(box);
      box.append(pre);
    }
    pre.before(button);
  });
}

function headingAnchors() {
  document.querySelectorAll(".post-content :is(h1, h2, h3, h4, h5, h6)[id]").forEach((heading) => {
    const link = Object.assign(document.createElement("a"), { className: "heading-anchor", href: `#${heading.id}` });
    link.setAttribute("aria-label", `Link to this section: ${heading.textContent}`);
    link.textContent = "#";
    heading.append(link);
  });
}

// A code block or output wider than the page scrolls, and keyboard users need to reach it to scroll it. Checked
// when the page is loaded and idle, when layout is already done: measuring earlier would force it. All are
// measured before any is changed, as each change would make the next measurement lay the page out again. Code
// in a closed <details> is left until it opens: the browser has not even styled it, and measuring would.
function focusableScrolling(within = document) {
  const pres = [...within.querySelectorAll("pre")].filter((pre) => !pre.closest("details:not([open])"));
  const wide = pres.map((pre) => pre.scrollWidth > pre.clientWidth);
  pres.forEach((pre, i) => (wide[i] ? pre.setAttribute("tabindex", "0") : pre.removeAttribute("tabindex")));
}

// Quarto's tabsets: without JavaScript each panel shows under its label, one after another. Here they become
// tabs, as WAI-ARIA's tabs pattern has them: one tab stop, arrow keys, Home and End to move, selection follows.
function tabsets() {
  document.querySelectorAll(".tabset").forEach((set, n) => {
    const panels = [...set.children].filter((el) => el.classList.contains("tab-panel"));
    if (!panels.length) return;
    const list = Object.assign(document.createElement("div"), { className: "tab-list" });
    list.setAttribute("role", "tablist");
    const tabs = panels.map((panel, i) => {
      const label = panel.querySelector(":scope > .tab-label");
      const tab = Object.assign(document.createElement("button"), { type: "button", id: `tab-${n}-${i}` });
      tab.setAttribute("role", "tab");
      tab.innerHTML = label ? label.innerHTML : `Tab ${i + 1}`;
      panel.id ||= `tab-panel-${n}-${i}`;
      tab.setAttribute("aria-controls", panel.id);
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      panel.tabIndex = 0;
      if (label) label.hidden = true;
      list.append(tab);
      return tab;
    });
    const select = (i, focus) => {
      tabs.forEach((tab, j) => {
        tab.setAttribute("aria-selected", String(i === j));
        tab.tabIndex = i === j ? 0 : -1;
        panels[j].hidden = i !== j;
      });
      if (focus) tabs[i].focus();
    };
    list.addEventListener("click", (event) => {
      const i = tabs.indexOf(event.target.closest("[role=tab]"));
      if (i >= 0) select(i, false);
    });
    list.addEventListener("keydown", (event) => {
      const i = tabs.indexOf(document.activeElement);
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (i < 0 || to === undefined) return;
      event.preventDefault();
      select((to + tabs.length) % tabs.length, true);
    });
    set.prepend(list);
    select(0, false);
  });
}

themeToggle();
tabsets();
copyButtons();
headingAnchors();
addEventListener("load", () => (window.requestIdleCallback || setTimeout)(() => focusableScrolling()));
addEventListener("resize", () => focusableScrolling());
document.addEventListener("toggle", (event) => focusableScrolling(event.target), true);

// Slides that fit. A section taller than the slide is split, at cell boundaries, into vertical
// sub-slides before reveal.js lays the deck out: the Down key (or Space) goes on to the rest. Only
// one cell taller than a whole slide is left as it is; that slide scrolls (slides.css), with the
// wheel or with the Down and Up keys. The split runs once images and fonts are in, since their
// heights decide it, and runs the same way in print (`?print-pdf`), so each slide prints on one page.

function startDeck(config) {
  const start = async () => {
    await document.fonts.ready;
    try {
      splitTallSlides(config.width, config.height);
    } finally {
      Reveal.initialize(config); // a deck whose split failed still shows, unsplit
    }
  };
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
}

function splitTallSlides(width, height) {
  // Laid out at the slide's size, but hidden: reveal.js shows no slide before it starts.
  const slides = document.querySelector(".reveal .slides");
  slides.style.width = `${width}px`;
  slides.classList.add("measuring");
  try {
    slides.querySelectorAll(":scope > section > section").forEach((slide) => split(slide, height));
  } finally {
    slides.classList.remove("measuring");
    slides.style.width = "";
  }
}

// From the first cell that ends below the slide, the cells move to a new sub-slide after this one,
// which is split in turn and says whose continuation it is. A first cell that alone is too tall
// stays alone and scrolls, less the paragraphs of a markdown cell that do not fit, which move on.
function split(slide, height) {
  const heading = slide.querySelector("h1, h2, h3")?.textContent.trim();
  while (slide.scrollHeight > height) {
    const bottom = slide.getBoundingClientRect().top + height;
    const parts = () => [...slide.children].filter((part) => !part.classList.contains("continued"));
    const over = parts().findIndex((part) => part.getBoundingClientRect().bottom > bottom);
    if (over < 0) return;
    if (over === 0) splitText(parts()[0], bottom);
    let cut = Math.max(over, 1);
    while (parts()[cut]?.matches("aside.notes")) cut += 1; // notes stay with the cell they follow
    const rest = parts().slice(cut);
    if (rest.length === 0) return;
    const next = document.createElement("section");
    next.append(...(heading ? [continued(heading)] : []), ...rest);
    slide.after(next);
    slide = next;
  }
}

function continued(heading) {
  return Object.assign(document.createElement("p"), { className: "continued", textContent: `${heading} (continued)` });
}

// The blocks (paragraphs, lists, quotes) of a markdown cell below `bottom` go to a copy of the cell after it.
function splitText(cell, bottom) {
  const blocks = (node) => [...(node.querySelector(".jp-RenderedMarkdown")?.children ?? [])];
  const cut = blocks(cell).findIndex((block) => block.getBoundingClientRect().bottom > bottom);
  if (cut < 1) return;
  const rest = cell.cloneNode(true);
  rest.removeAttribute("id");
  blocks(rest).slice(0, cut).forEach((block) => block.remove());
  blocks(cell).slice(cut).forEach((block) => block.remove());
  cell.after(rest);
}

// Down and Up scroll a slide that scrolls before they move on to the next slide. This listener sees
// the key first (capture, on window), and keeps it from reveal.js when it scrolled.
window.addEventListener(
  "keydown",
  (event) => {
    const step = { ArrowDown: 1, ArrowUp: -1 }[event.key];
    const slide = step && !event.shiftKey && !event.altKey && window.Reveal?.isReady() && Reveal.getCurrentSlide();
    if (!slide || !canScroll(slide, step)) return;
    slide.scrollBy({ top: step * slide.clientHeight * 0.8 });
    event.preventDefault();
    event.stopImmediatePropagation();
  },
  true,
);

function canScroll(slide, step) {
  const bottom = slide.scrollHeight - slide.clientHeight;
  return step > 0 ? slide.scrollTop < bottom - 1 : slide.scrollTop > 0;
}

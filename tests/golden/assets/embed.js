// Click-to-load embeds and comments: nothing is requested from another host until the reader
// clicks "Load it here" or "Show comments". Without JavaScript the card's link still works.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.embed-load");
  if (!button) return;
  const url = button.dataset.load;
  const holder = button.closest(".embed, .comments");
  if (button.dataset.repo) {
    const script = document.createElement("script");
    Object.assign(script, { src: url, async: true, crossOrigin: "anonymous" });
    script.setAttribute("repo", button.dataset.repo);
    script.setAttribute("issue-term", "pathname");
    script.setAttribute("theme", "preferred-color-scheme");
    holder.replaceChildren(script);
  } else if (holder.classList.contains("embed-output")) {
    // Scripts inside a <template> are inert; copies made with createElement run when inserted.
    const content = holder.querySelector("template").content.cloneNode(true);
    content.querySelectorAll("script").forEach((old) => {
      const script = document.createElement("script");
      [...old.attributes].forEach((a) => script.setAttribute(a.name, a.value));
      script.textContent = old.textContent;
      old.replaceWith(script);
    });
    holder.replaceChildren(content);
  } else if (holder.classList.contains("embed-image")) {
    const image = Object.assign(document.createElement("img"), { src: url, alt: holder.querySelector("a").textContent });
    holder.replaceChildren(image);
  } else if (holder.classList.contains("embed-script")) {
    holder.replaceChildren(Object.assign(document.createElement("script"), { src: url }));
  } else if (holder.classList.contains("embed-style")) {
    document.head.append(Object.assign(document.createElement("link"), { rel: "stylesheet", href: url }));
    holder.remove();
  } else if (holder.classList.contains("embed-twitter")) {
    const quote = document.createElement("blockquote");
    quote.className = "twitter-tweet";
    quote.append(holder.querySelector("a"));
    const script = Object.assign(document.createElement("script"), { src: url, async: true });
    holder.replaceChildren(quote, script);
  } else {
    const frame = Object.assign(document.createElement("iframe"), { src: url, title: holder.querySelector("a").textContent });
    frame.setAttribute("allowfullscreen", "");
    frame.className = "embed-frame";
    holder.replaceChildren(frame);
  }
});

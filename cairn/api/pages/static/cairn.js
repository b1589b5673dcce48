// Cairn's pages work without this script; it only adds conveniences.
"use strict";

// A button with data-confirm asks before its form is sent.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A <button data-copy="text"> copies its text (a digest, a reference) to the clipboard.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button || !navigator.clipboard) {
    return;
  }
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    button.dataset.copied = "yes";
    button.textContent = "Copied";
  });
});

// Progressive enhancement only: every page works without it.
document.addEventListener("DOMContentLoaded", () => {
  // Filter forms apply as soon as a choice changes; their button stays for keyboards
  // and browsers without script.
  for (const select of document.querySelectorAll("form[data-autosubmit] select")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  // A closing form asks once before a task is dismissed.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
});

// A form's error message that knows which field(s) it is about, so it goes away as soon as the
// person changes one of them (instead of lingering after the cause is fixed).
//
//   const err = new FormError();
//   err.set('Choose the client this ticket is for.', 'client');
//   <form oninput={err.edited} onchange={err.edited}> … <select name="client"> …
//
// Errors without a field (the API refused the whole request) stay until the next attempt.

export class FormError {
  text = $state('');
  fields: string[] = $state([]);

  set(text: string, field?: string | string[]) {
    this.text = text;
    this.fields = field === undefined ? [] : Array.isArray(field) ? field : [field];
  }

  clear() {
    this.text = '';
    this.fields = [];
  }

  /** The person changed `field`: drop the message if it was about that field. */
  touched(field: string) {
    if (this.text && this.fields.includes(field)) this.clear();
  }

  /** Form-level `oninput`/`onchange` handler; the changed control is known by its `name`. */
  edited = (e: Event) => {
    const name = (e.target as Element | null)?.getAttribute?.('name');
    if (name) this.touched(name);
  };
}

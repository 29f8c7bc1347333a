// What the API needs to know about the job kinds without loading them: their parameters and bounds.
import { params as hash } from "./hash.mjs";
import { params as json } from "./json.mjs";
import { params as pixels } from "./pixels.mjs";

/** Parameters of each job kind: `{ name: { min, max, default } }`. */
export const KINDS = { hash, json, pixels };

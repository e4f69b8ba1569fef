// `import text from "x.css"`: web/build.mjs loads .css imports as text (for a Lit stylesheet).
declare module "*.css" {
  const text: string;
  export default text;
}

// The values every layer agrees on, defined once: the search modes, the default K and top of a search (API,
// CLI and UI), and the image file extensions ingest catalogues and the UI accepts as query photos. Pure data (no
// Node, no DOM), below everything: the renderer, the contract, the engine and the catalog import it.

/** Stage 1 only, or stage 1 rescored by QuARI. */
export const SEARCH_MODES = ['baseline', 'adaptive'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

/** Stage-1 candidates per query vector that QuARI rescores when a request names none. */
export const DEFAULT_K = 1000;
/** Hits returned when a request names no `top` (the UI's first choice, the CLI's and the service's default). */
export const DEFAULT_TOP = 100;

/**
 * Extensions (lower case) ingest looks at and the UI accepts for a query photo: the formats libvips decodes here.
 * HEIC decodes only where libvips has an HEVC decoder; else the file fails, recorded. No BMP: libvips has no loader.
 */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif', '.heic', '.heif'];

/**
 * Longest camera make or model kept from a photo's EXIF and accepted by the search filter: real ones are under 40
 * characters, and hostile EXIF can hold megabytes (a TIFF's IFD) that every listing of the image would carry.
 */
export const CAMERA_TEXT_MAX = 100;

// One colour per query crop, shared by the crop list, the loupe and compare, so the box a hit matched crop 2 with
// has crop 2's colour everywhere. Crop 1 keeps the match colour the single-crop UI always used.
export const REGION_COLOURS = ['#ffcc00', '#4cc9f0', '#f72585', '#7bd88f', '#ff8c42', '#b388ff', '#ffffff', '#ff4d4d'] as const;

export const regionColour = (index: number): string => REGION_COLOURS[index % REGION_COLOURS.length]!;

// The throwaway images a boot test builds for itself (the enrollment disk, the slot-b disk's ESP)
// carry fixed dates too, so the same inputs give the same bytes: 1980-01-01, the first FAT date.
export const THROWAWAY_IMAGE_EPOCH = 315532800;

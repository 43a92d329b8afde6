// place_picture's fill geometry with a focus: the crop is centred on the focus point as far as
// the picture allows, with even offsets, and the centre focus keeps the centred crop.
#include "media/video_normalizer.h"

#include <gtest/gtest.h>

namespace leancut::media {
namespace {

// A 1280x720 picture into 404x720 (9:16): no scaling, 876 columns to crop away.
ScaledRect vertical(Rational focus_x, Rational focus_y = Rational{1, 2}) {
  return place_picture(Rational{1280}, 720, 404, 720, FitMode::Fill, focus_x, focus_y);
}

TEST(PlacePicture, FillCentredByDefault) {
  ScaledRect r = place_picture(Rational{1280}, 720, 404, 720, FitMode::Fill);
  EXPECT_EQ(r.width, 1280);
  EXPECT_EQ(r.height, 720);
  EXPECT_EQ(r.x, -438);  // (1280 - 404) / 2
  EXPECT_EQ(r.y, 0);
  EXPECT_EQ(vertical(Rational{1, 2}).x, -438);
}

TEST(PlacePicture, FillFocusMovesTheCropAndStopsAtTheEdges) {
  EXPECT_EQ(vertical(Rational{0}).x, 0);        // the left edge
  EXPECT_EQ(vertical(Rational{1}).x, -876);     // the right edge
  EXPECT_EQ(vertical(Rational{1, 10}).x, 0);    // 128 - 202 < 0: clamped
  EXPECT_EQ(vertical(Rational{1, 4}).x, -118);  // 320 - 202
  EXPECT_EQ(vertical(Rational{3, 4}).x, -758);  // 960 - 202
  EXPECT_EQ(vertical(Rational{1, 3}).x % 2, 0) << "even offsets keep 4:2:0 chroma aligned";
  // Vertically there is nothing to crop: the focus's y changes nothing.
  EXPECT_EQ(vertical(Rational{1, 2}, Rational{0}).y, 0);
  EXPECT_EQ(vertical(Rational{1, 2}, Rational{1}).y, 0);
}

TEST(PlacePicture, FillFocusVerticallyOnAPortraitPicture) {
  // 720x1280 into 720x720: 560 rows to crop away.
  auto square = [](Rational y) {
    return place_picture(Rational{720}, 1280, 720, 720, FitMode::Fill, Rational{1, 2}, y);
  };
  EXPECT_EQ(square(Rational{0}).y, 0);
  EXPECT_EQ(square(Rational{1, 2}).y, -280);
  EXPECT_EQ(square(Rational{1}).y, -560);
  EXPECT_EQ(square(Rational{1}).x, 0);
}

TEST(PlacePicture, FocusDoesNotChangeFitOrStretch) {
  ScaledRect fit =
      place_picture(Rational{1280}, 720, 404, 720, FitMode::Fit, Rational{0}, Rational{0});
  EXPECT_EQ(fit.x, 0);
  EXPECT_GT(fit.y, 0);  // letterboxed, centred
  ScaledRect stretch =
      place_picture(Rational{1280}, 720, 404, 720, FitMode::Stretch, Rational{1}, Rational{1});
  EXPECT_EQ(stretch.x, 0);
  EXPECT_EQ(stretch.y, 0);
}

}  // namespace
}  // namespace leancut::media

#include "protocols/money.hpp"

#include <gtest/gtest.h>

namespace paysync::protocols {

TEST(Money, RecognisesCurrencyCodes) {
  EXPECT_TRUE(is_currency_code("KES"));
  EXPECT_FALSE(is_currency_code("kes"));
  EXPECT_FALSE(is_currency_code("KE"));
  EXPECT_FALSE(is_currency_code("KESS"));
  EXPECT_FALSE(is_currency_code("K3S"));
}

TEST(Money, FormatsWithTheCurrencysMinorUnits) {
  EXPECT_EQ(format_money(125050, "KES"), "1,250.50 KES");
  EXPECT_EQ(format_money(5, "KES"), "0.05 KES");
  EXPECT_EQ(format_money(1500, "JPY"), "1,500 JPY");
  EXPECT_EQ(format_money(1234567, "BHD"), "1,234.567 BHD");
  EXPECT_EQ(format_money(-100, "KES"), "-1.00 KES");
  EXPECT_EQ(format_money(999999999999, "KES"), "9,999,999,999.99 KES");
}

}  // namespace paysync::protocols
